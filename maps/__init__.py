"""Map rendering: the three folium pages (``pages``), the words on them (``i18n``), the layers
shaped for the browser (``layers``) and vector tiles (``tiles``). Every asset a page loads is
served by the service itself (``maps/static``, and the npm packages pinned in ``maps/web``)."""
