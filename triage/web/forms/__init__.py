"""Form classes of the web pages, apart from the views that use them."""
