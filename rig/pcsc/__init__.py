"""The rig's PC/SC stack: pcscd with vpcd readers, and virtual cards inserted into them."""

from rig.pcsc.card_os import CardOS
from rig.pcsc.daemon import PcscStackError, StackConfig
from rig.pcsc.stack import ReaderStack, VirtualCardSlot, list_readers, wait_reader_state

__all__ = [
    "CardOS",
    "PcscStackError",
    "ReaderStack",
    "StackConfig",
    "VirtualCardSlot",
    "list_readers",
    "wait_reader_state",
]
