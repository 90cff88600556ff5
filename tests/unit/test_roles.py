"""Each role includes everything below it, and nothing above."""

from app.auth.access import safe_next
from app.auth.models import Role


def test_role_ladder():
    assert Role.ADMIN.allows(Role.STAFF)
    assert Role.ADMIN.allows(Role.VIEWER)
    assert Role.STAFF.allows(Role.VIEWER)
    assert not Role.STAFF.allows(Role.ADMIN)
    assert not Role.VIEWER.allows(Role.STAFF)


def test_next_only_goes_to_pages_of_this_site():
    assert safe_next("/admin/users?x=1") == "/admin/users?x=1"
    for target in ["https://evil.example/", "//evil.example/", "javascript:alert(1)", "/\\evil.example", "", None]:
        assert safe_next(target) is None
