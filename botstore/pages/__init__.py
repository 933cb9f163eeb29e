"""The public HTML pages, in the browser's language: WeStore's stores and products, articles and
the partner services (the mini program's pages too)."""
