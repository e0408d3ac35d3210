"""Online loading through osmnx (Overpass). Marked `network`: deselected by default and in CI."""
import pytest

from connectivity.load import download_osm
from connectivity.network import roads_network


@pytest.mark.network
def test_download_small_bbox_of_chiang_mai():
    layers = download_osm(bbox=(98.9650, 18.7950, 98.9700, 18.8000), highway_exclude=("footway",))
    assert len(layers.roads) > 10 and "footway" not in set(layers.roads["highway"])
    net = roads_network(layers.roads)
    assert net.crs == "EPSG:32647"


@pytest.mark.network
def test_download_by_place_name():
    layers = download_osm(place="Nimmanhaemin, Chiang Mai, Thailand")
    assert len(layers.roads) > 0
