"""A small SMPP 3.4 SMSC for the real-gateway tests: it binds, answers ``submit_sm`` and sends
delivery receipts, so Kannel and Jasmin walk every DLR path they have.

What it does with a message is decided by its destination number (``plan``): the
``submit_sm_resp`` status (a permanent error; or a temporary one, answered every time, so the
gateway retries until it gives up), and the receipt: ``stat``, ``err``, the ``text:`` part copied
from the message's first 20 octets (as many SMSCs do, in the message's own encoding), the label's
case, the ``receipted_message_id``/``message_state`` TLVs, or a receipt text given verbatim.

Hand-written PDU codec: only the few PDUs a gateway exchanges with an SMSC, so no library is
needed (the well-kept Python SMPP libraries are clients).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

BIND_RECEIVER, BIND_TRANSMITTER, BIND_TRANSCEIVER = 0x01, 0x02, 0x09
SUBMIT_SM, DELIVER_SM, UNBIND, ENQUIRE_LINK = 0x04, 0x05, 0x06, 0x15
RESPONSE = 0x80000000  # the response bit; alone it is generic_nack
ESME_RINVCMDID = 0x03
ESME_RTHROTTLED, ESME_RMSGQFUL = 0x58, 0x14
ESME_RINVDSTADR, ESME_RSUBMITFAIL = 0x0B, 0x45

TLV_RECEIPTED_MESSAGE_ID, TLV_MESSAGE_STATE = 0x001E, 0x0427
MESSAGE_STATES = {
    "ENROUTE": 1,
    "DELIVRD": 2,
    "EXPIRED": 3,
    "DELETED": 4,
    "UNDELIV": 5,
    "ACCEPTD": 6,
    "UNKNOWN": 7,
    "REJECTD": 8,
}


@dataclass(frozen=True)
class Rule:
    """What the SMSC does with a message to one destination."""

    submit_status: int = 0  # command_status of submit_sm_resp; nonzero: no receipt
    stat: str | None = "DELIVRD"  # the receipt's stat; None: no receipt
    err: str = "000"
    tlvs: bool = False  # add receipted_message_id + message_state
    text_label: str = "text"  # "text", "Text", or "" for a receipt without the text part
    receipt: bytes | None = None  # the whole receipt text instead ({id} = the message id)
    delay: float = 0.0  # seconds from submit_sm_resp to the receipt (Jasmin maps ids first)


@dataclass(frozen=True)
class Submitted:
    """One submit_sm as received, and the answer it got."""

    source: str
    destination: str
    data_coding: int
    short_message: bytes
    registered_delivery: int
    status: int
    message_id: str | None


def _cstring(data: bytes, offset: int) -> tuple[bytes, int]:
    end = data.index(b"\x00", offset)
    return data[offset:end], end + 1


def _parse_submit(body: bytes) -> dict:
    fields: dict = {}
    _service_type, offset = _cstring(body, 0)
    fields["source_ton"], fields["source_npi"] = body[offset], body[offset + 1]
    fields["source"], offset = _cstring(body, offset + 2)
    fields["dest_ton"], fields["dest_npi"] = body[offset], body[offset + 1]
    fields["destination"], offset = _cstring(body, offset + 2)
    offset += 3  # esm_class, protocol_id, priority_flag
    _schedule, offset = _cstring(body, offset)
    _validity, offset = _cstring(body, offset)
    fields["registered_delivery"] = body[offset]
    fields["data_coding"] = body[offset + 2]
    length = body[offset + 4]
    fields["short_message"] = body[offset + 5 : offset + 5 + length]
    return fields


def _pdu(command_id: int, status: int, sequence: int, body: bytes = b"") -> bytes:
    return struct.pack(">IIII", 16 + len(body), command_id, status, sequence) + body


def _tlv(tag: int, value: bytes) -> bytes:
    return struct.pack(">HH", tag, len(value)) + value


class Smsc:
    """Listens on 127.0.0.1 on a free port (``port``) until ``close()``."""

    def __init__(self, plan: dict[str, Rule] | None = None, default: Rule = Rule()):
        self.plan = dict(plan or {})
        self.default = default
        self.submitted: list[Submitted] = []
        self.receipts: dict[str, bytes] = {}  # message id → the receipt's text as sent
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._ids = 0
        self._sequence = 0
        self._connections: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name="smsc").start()

    def rule_for(self, destination: str) -> Rule:
        return self.plan.get(destination.lstrip("+"), self.default)

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        for connection in list(self._connections):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self._connections.append(connection)
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    @staticmethod
    def _read(connection: socket.socket, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = connection.recv(size - len(data))
            if not chunk:
                raise ConnectionError("the gateway closed the connection")
            data += chunk
        return data

    def _send(self, connection: socket.socket, pdu: bytes) -> None:
        with self._lock:
            connection.sendall(pdu)

    def _serve(self, connection: socket.socket) -> None:
        try:
            while True:
                header = self._read(connection, 16)
                length, command, _status, sequence = struct.unpack(">IIII", header)
                self._handle(connection, command, sequence, self._read(connection, length - 16))
        except OSError:  # ConnectionError included: the gateway went away
            pass
        finally:
            connection.close()

    def _handle(self, connection, command: int, sequence: int, body: bytes) -> None:
        if command in (BIND_RECEIVER, BIND_TRANSMITTER, BIND_TRANSCEIVER):
            self._send(connection, _pdu(command | RESPONSE, 0, sequence, b"smsc\x00"))
        elif command in (ENQUIRE_LINK, UNBIND):
            self._send(connection, _pdu(command | RESPONSE, 0, sequence))
        elif command == SUBMIT_SM:
            self._submit(connection, sequence, body)
        elif not command & RESPONSE:
            self._send(connection, _pdu(RESPONSE, ESME_RINVCMDID, sequence))
        # responses (deliver_sm_resp, enquire_link_resp) need no answer

    def _submit(self, connection, sequence: int, body: bytes) -> None:
        fields = _parse_submit(body)
        rule = self.rule_for(fields["destination"].decode())
        message_id = None
        if not rule.submit_status:
            with self._lock:
                self._ids += 1
                message_id = f"{self._ids:08x}"
        self.submitted.append(
            Submitted(
                fields["source"].decode(),
                fields["destination"].decode(),
                fields["data_coding"],
                fields["short_message"],
                fields["registered_delivery"],
                rule.submit_status,
                message_id,
            )
        )
        answer = (message_id or "").encode() + b"\x00"
        self._send(connection, _pdu(SUBMIT_SM | RESPONSE, rule.submit_status, sequence, answer))
        if message_id and rule.stat and fields["registered_delivery"] & 0x03:
            if rule.delay:
                timer = threading.Timer(
                    rule.delay, self._receipt, (connection, fields, rule, message_id)
                )
                timer.daemon = True
                timer.start()
            else:
                self._receipt(connection, fields, rule, message_id)

    def _receipt(self, connection, fields: dict, rule: Rule, message_id: str) -> None:
        if rule.receipt is not None:
            text = rule.receipt.replace(b"{id}", message_id.encode())
        else:
            now = datetime.now(timezone.utc).strftime("%y%m%d%H%M").encode()
            delivered = b"001" if rule.stat == "DELIVRD" else b"000"
            text = b"id:%s sub:001 dlvrd:%s submit date:%s done date:%s stat:%s err:%s" % (
                message_id.encode(),
                delivered,
                now,
                now,
                rule.stat.encode(),
                rule.err.encode(),
            )
            if rule.text_label:
                text += b" " + rule.text_label.encode() + b":" + fields["short_message"][:20]
        tlvs = b""
        if rule.tlvs:
            tlvs = _tlv(TLV_RECEIPTED_MESSAGE_ID, message_id.encode() + b"\x00")
            tlvs += _tlv(TLV_MESSAGE_STATE, bytes([MESSAGE_STATES[rule.stat]]))
        body = b"".join(
            [
                b"\x00",  # service_type
                bytes([fields["dest_ton"], fields["dest_npi"]]),
                fields["destination"] + b"\x00",  # the receipt comes from the phone
                bytes([fields["source_ton"], fields["source_npi"]]),
                fields["source"] + b"\x00",
                bytes([0x04, 0, 0]),  # esm_class: SMSC delivery receipt; protocol, priority
                b"\x00\x00",  # schedule_delivery_time, validity_period
                bytes([0, 0, 0, 0, len(text)]),  # reg. delivery, replace, coding, default, length
                text,
                tlvs,
            ]
        )
        with self._lock:
            self._sequence += 1
            sequence = self._sequence
            self.receipts[message_id] = text
        with contextlib.suppress(OSError):  # the gateway went away: the test sees what is missing
            self._send(connection, _pdu(DELIVER_SM, 0, sequence, body))
