"""Demo data: `flask demo seed` fills an instance with realistic rows at the size a busy office reaches."""
