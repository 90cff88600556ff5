"""The home page, the admin landing page and the areas still to be built."""
