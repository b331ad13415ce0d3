"""What the printer supports, and the Get-Printer-Attributes table that advertises it.

The constants are the printer's capabilities (formats, compressions, copies);
`IppService` validates requests against the same constants, and passes in the operations
its handler table serves, so what a client reads here is what the service accepts.
`printer_attributes` builds one printer's full table (RFC 8011 §5.4 printer description,
with media collections and the vendor tray counts).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from uuid import UUID

from emulators.printer.model import PrinterDevice
from rig.core.protocols.ipp import (
    Attribute,
    Collection,
    IntRange,
    Resolution,
    ValueTag,
)

DOCUMENT_FORMATS = ("application/pdf", "application/octet-stream")
COMPRESSIONS = ("none", "gzip", "deflate")
MAX_COPIES = 10
#: rig seconds a Create-Job waits for its Send-Document before it is aborted
OPERATION_TIME_OUT_S = 60
#: Job template attributes whose few supported values are fixed (the rest depend on the
#: printer: sides, media, resolution, or take a range: copies)
FIXED_CHOICES: dict[str, tuple[object, ...]] = {
    "finishings": (3,),
    "print-scaling": ("none",),
    "orientation-requested": (3, 4, 5, 6),
    "output-bin": ("face-down",),
    "print-color-mode": ("monochrome", "auto"),
    "print-content-optimize": ("auto",),
    "print-quality": (3, 4, 5),
    "print-rendering-intent": ("auto",),
}
JOB_TEMPLATE = tuple(
    sorted({*FIXED_CHOICES, "copies", "media", "media-col", "printer-resolution", "sides"})
)
#: vendor attributes a kiosk on the wire can read for the 取り忘れ (forgotten sheets) warning
VENDOR_TRAY_SHEETS = "konbini-output-tray-sheets"
VENDOR_INPUT_SHEETS = "konbini-input-tray-sheets"
#: the media margins, all 0: the engine prints borderless
_EDGES = ("bottom", "left", "right", "top")


def printer_attributes(
    dev: PrinterDevice,
    *,
    base_uri: str,
    http_base: str,
    printer_uuid: UUID,
    operations: Iterable[int],
) -> list[Attribute]:
    """Every printer attribute of `dev`, as the printer at `base_uri` + its resource that
    serves `operations`."""
    profile = dev.profile
    res = profile.resource
    a = Attribute.of
    now = dev.clock.now()
    media_cols = [_media_col(m) for m in profile.media_supported]
    default_col = _media_col(profile.media_default)
    state_reasons = dev.state_reasons()
    supply_level = 15 if dev.toner_low else 80
    supply = (
        f"index=1;class=supplyThatIsConsumed;type=toner;unit=percent;"
        f"maxcapacity=100;level={supply_level};colorantname=black;"
    )
    http = f"{http_base}{res}"
    return [
        a("charset-configured", ValueTag.CHARSET, "utf-8"),
        a("charset-supported", ValueTag.CHARSET, "utf-8", "us-ascii"),
        a("color-supported", ValueTag.BOOLEAN, False),
        a("compression-supported", ValueTag.KEYWORD, *COMPRESSIONS),
        a("copies-default", ValueTag.INTEGER, 1),
        a("copies-supported", ValueTag.RANGE_OF_INTEGER, IntRange(1, MAX_COPIES)),
        a("document-format-default", ValueTag.MIME_MEDIA_TYPE, "application/pdf"),
        a("document-format-supported", ValueTag.MIME_MEDIA_TYPE, *DOCUMENT_FORMATS),
        a("finishings-default", ValueTag.ENUM, 3),
        a("finishings-supported", ValueTag.ENUM, 3),
        a("generated-natural-language-supported", ValueTag.NATURAL_LANGUAGE, "en"),
        a("identify-actions-default", ValueTag.KEYWORD, "display"),
        a("identify-actions-supported", ValueTag.KEYWORD, "display"),
        a("ipp-features-supported", ValueTag.KEYWORD, "none"),
        a("ipp-versions-supported", ValueTag.KEYWORD, "1.1", "2.0"),
        a("job-creation-attributes-supported", ValueTag.KEYWORD, *JOB_TEMPLATE),
        a("job-ids-supported", ValueTag.BOOLEAN, True),
        a("job-k-octets-supported", ValueTag.RANGE_OF_INTEGER, IntRange(0, 32768)),
        *[a(f"media-{edge}-margin-supported", ValueTag.INTEGER, 0) for edge in _EDGES],
        a("media-col-database", ValueTag.BEGIN_COLLECTION, *media_cols),
        a("media-col-default", ValueTag.BEGIN_COLLECTION, default_col),
        a("media-col-ready", ValueTag.BEGIN_COLLECTION, default_col),
        a(
            "media-col-supported",
            ValueTag.KEYWORD,
            "media-size",
            "media-source",
            "media-type",
            *[f"media-{edge}-margin" for edge in _EDGES],
        ),
        a("media-default", ValueTag.KEYWORD, profile.media_default),
        a("media-ready", ValueTag.KEYWORD, profile.media_default),
        a(
            "media-size-supported",
            ValueTag.BEGIN_COLLECTION,
            *[_size_col(m) for m in profile.media_supported],
        ),
        a("media-source-supported", ValueTag.KEYWORD, "main"),
        a("media-supported", ValueTag.KEYWORD, *profile.media_supported),
        a("media-type-supported", ValueTag.KEYWORD, "stationery"),
        a(
            "multiple-document-handling-supported",
            ValueTag.KEYWORD,
            "separate-documents-uncollated-copies",
        ),
        a("multiple-document-jobs-supported", ValueTag.BOOLEAN, False),
        a("multiple-operation-time-out", ValueTag.INTEGER, OPERATION_TIME_OUT_S),
        a("multiple-operation-time-out-action", ValueTag.KEYWORD, "abort-job"),
        a("natural-language-configured", ValueTag.NATURAL_LANGUAGE, "en"),
        a("operations-supported", ValueTag.ENUM, *sorted(int(o) for o in operations)),
        a("orientation-requested-default", ValueTag.ENUM, 3),
        a("orientation-requested-supported", ValueTag.ENUM, 3, 4, 5, 6),
        a("output-bin-default", ValueTag.KEYWORD, "face-down"),
        a("output-bin-supported", ValueTag.KEYWORD, "face-down"),
        a("page-ranges-supported", ValueTag.BOOLEAN, False),
        a("pages-per-minute", ValueTag.INTEGER, 20),
        a("pdl-override-supported", ValueTag.KEYWORD, "attempted"),
        a("preferred-attributes-supported", ValueTag.BOOLEAN, False),
        a("print-color-mode-default", ValueTag.KEYWORD, "monochrome"),
        a("print-color-mode-supported", ValueTag.KEYWORD, "monochrome"),
        a("print-content-optimize-default", ValueTag.KEYWORD, "auto"),
        a("print-content-optimize-supported", ValueTag.KEYWORD, "auto"),
        a("print-quality-default", ValueTag.ENUM, 4),
        a("print-quality-supported", ValueTag.ENUM, 3, 4, 5),
        a("print-rendering-intent-default", ValueTag.KEYWORD, "auto"),
        # the engine prints every page at its own size: it never scales (PRINT-004)
        a("print-scaling-default", ValueTag.KEYWORD, "none"),
        a("print-scaling-supported", ValueTag.KEYWORD, "none"),
        a("print-rendering-intent-supported", ValueTag.KEYWORD, "auto"),
        a("printer-config-change-date-time", ValueTag.DATE_TIME, _at(dev, dev.config_change_s)),
        a("printer-config-change-time", ValueTag.INTEGER, dev.up_time_at(dev.config_change_s)),
        a("printer-current-time", ValueTag.DATE_TIME, now),
        a(
            "printer-device-id",
            ValueTag.TEXT,
            f"MFG:Konbini Rig;MDL:{profile.make_and_model};CMD:PDF;",
        ),
        a("printer-geo-location", ValueTag.URI, "geo:35.6812,139.7671"),
        a("printer-icons", ValueTag.URI, f"{http_base}/icon.png"),
        a("printer-get-attributes-supported", ValueTag.KEYWORD, "document-format"),
        a("printer-info", ValueTag.TEXT, profile.info),
        a("printer-is-accepting-jobs", ValueTag.BOOLEAN, True),
        a("printer-location", ValueTag.TEXT, "konbini rig (loopback)"),
        a("printer-make-and-model", ValueTag.TEXT, profile.make_and_model),
        a("printer-more-info", ValueTag.URI, http),
        a("printer-name", ValueTag.NAME, f"konbini-{profile.name}"),
        a("printer-organization", ValueTag.TEXT, "konbini rig"),
        a("printer-organizational-unit", ValueTag.TEXT, "conformance"),
        a("printer-resolution-default", ValueTag.RESOLUTION, Resolution(dev.dpi, dev.dpi)),
        a("printer-resolution-supported", ValueTag.RESOLUTION, Resolution(dev.dpi, dev.dpi)),
        a("printer-state", ValueTag.ENUM, int(dev.state())),
        a("printer-state-change-date-time", ValueTag.DATE_TIME, _at(dev, dev.state_change_s)),
        a("printer-state-change-time", ValueTag.INTEGER, dev.up_time_at(dev.state_change_s)),
        a("printer-state-message", ValueTag.TEXT, dev.state_message()),
        a("printer-state-reasons", ValueTag.KEYWORD, *state_reasons),
        a("printer-supply", ValueTag.OCTET_STRING, supply.encode()),
        a("printer-supply-description", ValueTag.TEXT, "Black Toner"),
        a("printer-supply-info-uri", ValueTag.URI, http),
        a("printer-up-time", ValueTag.INTEGER, dev.up_time()),
        a("printer-uri-supported", ValueTag.URI, f"{base_uri}{res}"),
        a("printer-uuid", ValueTag.URI, f"urn:uuid:{printer_uuid}"),
        a("queued-job-count", ValueTag.INTEGER, dev.queued_job_count()),
        a("sides-default", ValueTag.KEYWORD, "one-sided"),
        a("sides-supported", ValueTag.KEYWORD, *profile.sides_supported),
        a("uri-authentication-supported", ValueTag.KEYWORD, "none"),
        a("uri-security-supported", ValueTag.KEYWORD, "none"),
        a("which-jobs-supported", ValueTag.KEYWORD, "completed", "not-completed", "all"),
        a(VENDOR_TRAY_SHEETS, ValueTag.INTEGER, dev.tray.count),
        a(VENDOR_INPUT_SHEETS, ValueTag.INTEGER, dev.paper_level),
    ]


def _at(dev: PrinterDevice, seconds: float) -> datetime:
    return dev.clock.epoch + timedelta(seconds=seconds)


def media_dims(media: str) -> tuple[int, int]:
    """(x, y) in hundredths of mm from a PWG self-describing name like iso_a4_210x297mm."""
    size = media.rsplit("_", 1)[-1].removesuffix("mm")
    x, _, y = size.partition("x")
    return round(float(x) * 100), round(float(y) * 100)


def _size_col(media: str) -> Collection:
    x, y = media_dims(media)
    return Collection(
        [
            Attribute.of("x-dimension", ValueTag.INTEGER, x),
            Attribute.of("y-dimension", ValueTag.INTEGER, y),
        ]
    )


def _media_col(media: str) -> Collection:
    return Collection(
        [
            Attribute.of("media-size", ValueTag.BEGIN_COLLECTION, _size_col(media)),
            Attribute.of("media-size-name", ValueTag.KEYWORD, media),
            Attribute.of("media-source", ValueTag.KEYWORD, "main"),
            Attribute.of("media-type", ValueTag.KEYWORD, "stationery"),
            *[Attribute.of(f"media-{edge}-margin", ValueTag.INTEGER, 0) for edge in _EDGES],
        ]
    )
