"""The overview map of a plan (``map.html``): roads, duct segments and sites."""
from __future__ import annotations

from pathlib import Path

from connectivity.atomic import atomic_path
from connectivity.load import OSM_ATTRIBUTION, WGS84


def plan_map(result, path: str | Path) -> None:
    """Write a folium map of the plan's roads (grey), ducts (red) and sites (green/black) to ``path``."""
    import folium

    roads = result.layers["roads"][["highway", "name", "length_m", "geometry"]].to_crs(WGS84)
    ducts = result.ducts.to_crs(WGS84)
    sites = result.sites[["site_id", "operator", "kind", "name", "connected", "geometry"]].to_crs(WGS84)
    west, south, east, north = roads.total_bounds
    m = folium.Map(tiles=None, prefer_canvas=True, control_scale=True)
    m.get_root().html.add_child(folium.Element(
        f'<div style="position:fixed;bottom:4px;right:8px;z-index:1000;background:#fffc;font:11px sans-serif;'
        f'padding:1px 4px">{OSM_ATTRIBUTION}</div>'))
    folium.GeoJson(roads.assign(length_m=roads["length_m"].round(1)), name="roads",
                   style_function=lambda _: {"color": "#999", "weight": 1}).add_to(m)
    if len(ducts):
        folium.GeoJson(ducts[["segment_id", "length_m", "operators", "geometry"]].assign(
            length_m=ducts["length_m"].round(1)), name="ducts",
            style_function=lambda _: {"color": "#d62728", "weight": 4},
            tooltip=folium.GeoJsonTooltip(["segment_id", "length_m", "operators"])).add_to(m)
    if len(sites):
        folium.GeoJson(sites, name="sites", marker=folium.CircleMarker(radius=5, fill=True, fill_opacity=0.9),
                       style_function=lambda f: {"color": "#2ca02c" if f["properties"]["connected"] else "#000"},
                       tooltip=folium.GeoJsonTooltip(["site_id", "operator", "kind", "name", "connected"])).add_to(m)
    folium.LayerControl().add_to(m)
    m.fit_bounds([[south, west], [north, east]])
    with atomic_path(path) as tmp:
        m.save(str(tmp))
