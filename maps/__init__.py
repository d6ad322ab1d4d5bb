"""Map rendering with folium: layers, legends and popups, with every asset served locally."""
