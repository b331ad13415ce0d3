"""The rig's PC/SC stack: pcscd with vpcd readers, and virtual cards inserted into them."""

from rig.core.pcsc.card_os import CardOS
from rig.core.pcsc.daemon import PcscStackError, StackConfig
from rig.core.pcsc.stack import ReaderStack, VirtualCardSlot, list_readers, wait_reader_state

__all__ = [
    "CardOS",
    "PcscStackError",
    "ReaderStack",
    "StackConfig",
    "VirtualCardSlot",
    "list_readers",
    "wait_reader_state",
]
