"""Anti-forgery marks on what the centre hands the kiosk (seed I.3 (2), I.4.1 (6)).

The scenario plays the kiosk: it downloads the processed PDF through the kiosk API,
rasterizes it as the printer would (Ghostscript, 300 dpi gray) and checks each sheet with
the rig's devices (rig.core.antiforgery): the copier, the special viewer, the back's decoder; and
the verification site's API for the customer's upload.
"""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image
from scipy import ndimage

from emulators.centre.server import antiforgery_key
from rig.core.antiforgery import (
    INVISIBLE_BELOW,
    VISIBLE_ABOVE,
    compare,
    copier,
    decode_back,
    detect_latent,
    inspect_sheet,
    kensei_contrast,
    rasterize_pdf,
    read_back,
)
from rig.core.antiforgery.layout import AREA_A4, CONTENT
from rig.core.protocols.centre import CertTypeName
from rig.harness.world import CITY, KOSEKI_TOWN, World
from scenarios.support import KioskSide

pytestmark = pytest.mark.world(marks="full")
Sheet = tuple[NDArray[np.uint8], NDArray[np.uint8]]
A4 = AREA_A4.front


def issued_sheet(world: World, paper: str = "A5") -> tuple[Sheet, bytes, str]:
    """One single-page certificate as downloaded by the kiosk: (front, back), the PDF, the
    resident. A5: a 課税証明書 of 993034 (A5 content centred on A4); A4: a 住民票 of 991015."""
    cert_type: CertTypeName
    if paper == "A5":
        code, trait, cert_type, variant = KOSEKI_TOWN, "tax_record", "tax_certificate", "income"
    else:
        code, trait, cert_type, variant = CITY, "household_of_1", "resident_record", None
    resident = world.resident(code, trait=trait)
    card = world.issue_card("mynumber-valid", resident, code=code)
    kiosk = KioskSide.connect(world)
    try:
        session_id, _ = kiosk.login_jpki(card)
        receipt = kiosk.client.request_certificate(
            session_id,
            cert_type,
            variant=variant,
        )
        pdf = kiosk.client.download(session_id, receipt.request_id)
        kiosk.client.cancel_request(session_id, receipt.request_id)
    finally:
        kiosk.close()
    assert receipt.duplex and receipt.sides == 2 * receipt.pages == 2
    assert receipt.paper == paper
    sides = rasterize_pdf(pdf)
    assert len(sides) == 2
    return (sides[0], sides[1]), pdf, resident


def key_of(world: World) -> bytes:
    return antiforgery_key(world.options.seed)


@pytest.mark.requirement("AF-001", "AF-002", "AF-004", "AF-005", "AF-008", "AF-009")
@pytest.mark.smoke
def test_the_downloaded_document_already_carries_every_mark(backend: World) -> None:
    (front, back), _, _ = issued_sheet(backend)
    report = inspect_sheet(front, back, key_of(backend))
    assert report.back_error is None and report.back_decoded
    for side in (report.front, report.back):
        # けん制文字 on both sides: invisible as printed, standing out on a copy
        assert side.kensei_contrast < INVISIBLE_BELOW
        assert side.kensei_on_copy > VISIBLE_ABOVE
        # 偽造防止検出画像: the viewer finds the latent image
        assert side.latent.found and side.latent.score >= 0.5
    assert report.comparison is not None and report.comparison.matches
    assert report.genuine


@pytest.mark.requirement("AF-009")
def test_the_latent_image_does_not_show_without_the_viewer(backend: World) -> None:
    (front, _), _, _ = issued_sheet(backend)
    assert detect_latent(front).found
    # to the eye (σ 5 px blur) the disc inside the emblem's ring is one even gray: the
    # figure 「証」 and its ground differ by less than the just-noticeable difference
    eye = ndimage.gaussian_filter(front.astype(np.float32), 5.0)
    disc = eye[3254 - 70 : 3254 + 70, 1240 - 70 : 1240 + 70]
    spread = float(np.percentile(disc, 99) - np.percentile(disc, 1)) / 255
    assert spread < INVISIBLE_BELOW, spread


@pytest.mark.requirement("AF-003", "AF-010")
@pytest.mark.parametrize("side", ["front", "back"])
def test_a_photocopy_shows_the_word_and_loses_the_latent_image(backend: World, side: str) -> None:
    (front, back), _, _ = issued_sheet(backend)
    original = front if side == "front" else back
    copy = copier(original)
    assert kensei_contrast(original) < INVISIBLE_BELOW  # 「複写」 does not stand out
    assert kensei_contrast(copy) > VISIBLE_ABOVE  # it does on the copy
    assert detect_latent(original).found
    assert not detect_latent(copy).found  # the viewer tells the copy from the original


@pytest.mark.requirement("AF-006", "AF-005")
def test_an_altered_front_shows_where_it_was_altered(backend: World) -> None:
    (front, back), _, _ = issued_sheet(backend)
    decoded = decode_back(back, key_of(backend))
    assert compare(front, decoded).matches
    # forge: white out a band of text inside the content box (text rows found as a reader
    # sees them, through a slight blur that melts the pattern's 1-pixel dots)
    altered = front.copy()
    box = front[CONTENT.y : CONTENT.y1, CONTENT.x : CONTENT.x1].astype(np.float32)
    ink_rows = np.where((ndimage.gaussian_filter(box, 1.5) < 100).sum(axis=1) > 20)[0]
    assert len(ink_rows) > 0
    y = CONTENT.y + int(ink_rows[len(ink_rows) // 2])
    x0, x1 = CONTENT.x + 60, CONTENT.x + 1700
    altered[y - 30 : y + 30, x0:x1] = 255
    report = compare(altered, decoded)
    assert not report.matches
    assert any(
        box.x < x1 and x0 < box.x1 and box.y < y + 30 and y - 30 < box.y1 for box in report.altered
    ), report.altered


@pytest.mark.requirement("AF-011")
def test_text_stays_legible_under_the_marks(backend: World) -> None:
    (front, _), _, _ = issued_sheet(backend)
    box = front[CONTENT.y : CONTENT.y1, CONTENT.x : CONTENT.x1].astype(np.float32)
    # a reader sees through a slight blur: 1-pixel pattern dots fade, strokes stay dark
    seen = ndimage.gaussian_filter(box, 1.5)
    strokes = seen < 100
    assert strokes.mean() > 0.01, "no text left in the content box"
    ground = np.median(seen[~strokes])
    assert ground > 190, f"the ground under the text is too dark ({ground:.0f})"


def png_of(image: NDArray[np.uint8]) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG", dpi=(300, 300))
    return out.getvalue()


@pytest.mark.requirement("AF-007")
def test_the_verification_site_decodes_an_uploaded_back(backend: World) -> None:
    (front, back), _, _ = issued_sheet(backend)
    url = backend.endpoints["verify_api"]
    answer = httpx.post(url, files={"back": ("back.png", png_of(back), "image/png")}, timeout=60)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["result"] == "decoded" and body["registration"]["found"] is True
    assert body["decoded_front_png"]
    wrong_side = httpx.post(
        url, files={"back": ("front.png", png_of(front), "image/png")}, timeout=60
    )
    assert 400 <= wrong_side.status_code < 500
    assert wrong_side.headers["content-type"].startswith("application/problem+json")
    assert wrong_side.json()["code"] in ("not_a_back", "header_damaged")


@pytest.mark.requirement("AF-007")
@pytest.mark.world(marks="layout")
@pytest.mark.parametrize(
    ("upload", "status", "code"),
    [
        (b"this is not an image", 415, "unsupported_format"),
        (png_of(np.full((3508, 2480), 255, np.uint8)), 422, "registration_not_found"),
    ],
    ids=["text", "blank-page"],
)
def test_a_scan_that_is_not_a_back_gets_a_specific_error(
    backend: World, upload: bytes, status: int, code: str
) -> None:
    answer = httpx.post(
        backend.endpoints["verify_api"], files={"back": ("scan", upload, "image/png")}, timeout=60
    )
    assert answer.status_code == status, answer.text
    assert answer.json()["code"] == code


@pytest.mark.requirement("AF-005", "AF-006")
def test_an_a4_certificate_front_matches_its_decoded_back(backend: World) -> None:
    (front, back), _, _ = issued_sheet(backend, paper="A4")
    report = inspect_sheet(front, back, key_of(backend))
    assert report.back_error is None, report.back_error
    assert report.comparison is not None and report.comparison.matches
    # the back carries the whole A4 page: text altered outside the A5 area is caught too
    # (the municipal footer line, about 9 mm above the bottom edge)
    reading = read_back(back, key_of(backend))
    altered = front.copy()
    band = front[A4.y1 - 140 : A4.y1 - 30, A4.x : A4.x + 900].astype(np.float32)
    ink_rows = np.where((ndimage.gaussian_filter(band, 1.5) < 100).sum(axis=1) > 10)[0]
    assert len(ink_rows) > 0
    y = A4.y1 - 140 + int(ink_rows[0])
    x0, x1 = A4.x + 10, A4.x + 900
    altered[y - 4 : y + 30, x0:x1] = 255
    forged = compare(altered, reading)
    assert not forged.matches
    assert any(b.x < x1 and x0 < b.x1 and b.y < y + 30 and y - 4 < b.y1 for b in forged.altered), (
        forged.altered
    )
