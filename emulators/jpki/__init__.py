"""The JPKI centre's OCSP responder (公的個人認証サービス OCSPレスポンダ), per RFC 6960.

model.py builds answers from the PKI's revocation store; server.py serves them over HTTP
(POST and GET); faults.py schedules outages and bad answers on the rig clock.
"""

from emulators.jpki.faults import OcspFault, OcspFaultPlan
from emulators.jpki.model import OcspResponder, ResponderIdentity
from emulators.jpki.server import OcspServer

__all__ = ["OcspFault", "OcspFaultPlan", "OcspResponder", "OcspServer", "ResponderIdentity"]
