"""IIIF Image API 3.0 request syntax: regions, sizes, rotations, qualities and formats, with the status
the specification gives for each kind of wrong request."""

from __future__ import annotations

import pytest

from tadmcodec.serve.iiif_request import IIIFError, Limits, parse_region, parse_request, parse_rotation, parse_size

BIG = Limits(max_area=10**9)


@pytest.mark.parametrize(
    ("text", "box"),
    [
        ("full", (0, 0, 1000, 600)),
        ("square", (200, 0, 800, 600)),
        ("10,20,100,50", (10, 20, 110, 70)),
        ("900,500,500,500", (900, 500, 1000, 600)),  # clipped to the image
        ("pct:10,50,25,50", (100, 300, 350, 600)),
        ("pct:0.5,0,1.5,100", (5, 0, 20, 600)),
    ],
)
def test_regions(text: str, box: tuple[int, int, int, int]) -> None:
    assert parse_region(text, 1000, 600) == box


@pytest.mark.parametrize("text", ["", "all", "1,2,3", "1,2,3,4,5", "-1,0,10,10", "a,b,c,d", "pct:1,2,3", "1.5,0,10,10"])
def test_malformed_regions_are_400(text: str) -> None:
    with pytest.raises(IIIFError) as caught:
        parse_region(text, 1000, 600)
    assert caught.value.status == 400


@pytest.mark.parametrize("text", ["0,0,0,10", "0,0,10,0", "1000,0,10,10", "0,600,10,10", "pct:100,0,10,10"])
def test_empty_or_outside_regions_are_400(text: str) -> None:
    with pytest.raises(IIIFError, match="empty or outside") as caught:
        parse_region(text, 1000, 600)
    assert caught.value.status == 400


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("max", (400, 200)),
        ("200,", (200, 100)),
        (",50", (100, 50)),
        ("40,30", (40, 30)),  # distorted, as asked
        ("!100,100", (100, 50)),
        ("!300,50", (100, 50)),
        ("pct:25", (100, 50)),
        ("^800,", (800, 400)),
        ("^pct:150", (600, 300)),
        ("^!1000,300", (600, 300)),
        ("^max", (400, 200)),
    ],
)
def test_sizes(text: str, size: tuple[int, int]) -> None:
    assert parse_size(text, 400, 200, BIG) == size


@pytest.mark.parametrize("text", ["401,", ",201", "500,100", "pct:101", "!800,800"])
def test_upscaling_without_the_caret_is_400(text: str) -> None:
    with pytest.raises(IIIFError, match="ask with \\^") as caught:
        parse_size(text, 400, 200, BIG)
    assert caught.value.status == 400


@pytest.mark.parametrize("text", ["full", "", ",", "0,", ",0", "pct:0", "!10,", "w,h", "10,10,10", "pct:x", "^", "-5,"])
def test_malformed_or_empty_sizes_are_400(text: str) -> None:
    with pytest.raises(IIIFError) as caught:
        parse_size(text, 400, 200, BIG)
    assert caught.value.status == 400


def test_the_pixel_budget() -> None:
    limits = Limits(max_area=10_000, max_width=150)
    assert parse_size("max", 400, 200, limits) == (141, 70)  # scaled down to fit, aspect kept
    assert parse_size("^max", 100, 50, limits) == (141, 70)  # up to the budget with ^
    for text in ("200,", "150,100"):
        with pytest.raises(IIIFError, match="over this server's limit") as caught:
            parse_size(text, 400, 200, limits)
        assert caught.value.status == 400 and "maxArea 10000, maxWidth 150" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("0", (False, 0)), ("90", (False, 90)), ("!180", (True, 180)), ("270.0", (False, 270)), ("360", (False, 0))],
)
def test_rotations(text: str, parsed: tuple[bool, int]) -> None:
    assert parse_rotation(text) == parsed


def test_rotation_errors() -> None:
    for text, status in (("45", 501), ("!22.5", 501), ("abc", 400), ("-90", 400), ("361", 400), ("", 400)):
        with pytest.raises(IIIFError) as caught:
            parse_rotation(text)
        assert caught.value.status == status, text


def test_a_whole_request_and_its_canonical_form() -> None:
    request = parse_request("pct:50,0,50,100", "!100,100", "!90", "gray.webp", 1000, 600, BIG)
    assert (request.region, request.size, request.mirror, request.rotation) == (
        (500, 0, 1000, 600),
        (83, 100),
        True,
        90,
    )
    assert request.canonical == "500,0,500,600/83,100/!90/gray.webp"
    for tail, status in (
        ("default.gif", 501),
        ("default.tif", 501),
        ("default.bmp", 400),
        ("best.jpg", 400),
        ("default", 400),
    ):
        with pytest.raises(IIIFError) as caught:
            parse_request("full", "max", "0", tail, 1000, 600, BIG)
        assert caught.value.status == status, tail
