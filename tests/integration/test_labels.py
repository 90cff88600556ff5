"""Every input on every page an admin can open has a visible label, and buttons say what they do."""

from html.parser import HTMLParser

PAGES = [
    "/",
    "/admin",
    "/admin/users",
    "/admin/audit",
    "/admin/categories",
    "/account/password",
    "/documents",
    "/documents/upload",
    "/review",
    "/stock",
    "/stock/ledger",
    "/stock/products/new",
    "/stock/import",
    "/orders",
    "/orders/new",
]


class FormAudit(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: list[str] = []
        self.labels: set[str] = set()
        self.buttons: list[str] = []
        self._button: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in {"input", "select", "textarea"} and attrs.get("type") not in {"hidden", "submit"}:
            self.fields.append(attrs.get("id") or f"<{tag} name={attrs.get('name')} without id>")
        if tag == "label" and attrs.get("for"):
            self.labels.add(attrs["for"])
        if tag == "button":
            self._button = []

    def handle_data(self, data):
        if self._button is not None:
            self._button.append(data)

    def handle_endtag(self, tag):
        if tag == "button" and self._button is not None:
            self.buttons.append("".join(self._button).strip())
            self._button = None


def test_inputs_have_labels_and_buttons_have_words(client, auth, make_user):
    auth.login_as("admin")
    make_user("viewer")
    for url in PAGES:
        audit = FormAudit()
        audit.feed(client.get(url).get_data(as_text=True))
        unlabelled = [field for field in audit.fields if field not in audit.labels]
        assert not unlabelled, f"{url}: inputs without a label: {unlabelled}"
        assert all(audit.buttons), f"{url}: a button without text"
    anonymous = FormAudit()
    auth.logout()
    anonymous.feed(client.get("/login").get_data(as_text=True))
    assert set(anonymous.fields) <= anonymous.labels
