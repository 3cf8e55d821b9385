"""Book layer: builds the Jupyter Book from the report and checks its pages in a browser."""
