//! [C706 12.6] Connection-oriented PDUs: the common header and the PDUs of a bind and a call.
//!
//! A PDU on the wire is one fragment: the 16-byte common header whose `frag_length` gives the size of the whole
//! fragment, the PDU body, and an optional authentication verifier (`auth_length` bytes plus the 8-byte
//! `sec_trailer`, [MS-RPCE 2.2.2.11]). [`Pdu::decode`] reads one fragment; [`Header::decode`] is enough to frame
//! a byte stream.

use crate::error::{DecodeError, EncodeError};
use crate::syntax::{SyntaxId, Uuid};
use crate::wire::{len_u16, len_u32, len_u8, Reader, Writer};

code_newtype! {
    /// [C706 12.6.3.1] `PTYPE`: the PDU type (connection-oriented types, and the connectionless ones' numbers so
    /// that a stray one is named).
    PacketType(u8) {
        /// request (client to server)
        REQUEST = 0,
        /// ping (connectionless)
        PING = 1,
        /// response (server to client)
        RESPONSE = 2,
        /// fault: the call failed at the server
        FAULT = 3,
        /// working (connectionless)
        WORKING = 4,
        /// nocall (connectionless)
        NOCALL = 5,
        /// reject (connectionless)
        REJECT = 6,
        /// ack (connectionless)
        ACK = 7,
        /// cl_cancel (connectionless)
        CL_CANCEL = 8,
        /// fack (connectionless)
        FACK = 9,
        /// cancel_ack (connectionless)
        CANCEL_ACK = 10,
        /// bind: the client proposes presentation contexts
        BIND = 11,
        /// bind_ack: the server answers each presentation context
        BIND_ACK = 12,
        /// bind_nak: the server refuses the association
        BIND_NAK = 13,
        /// alter_context
        ALTER_CONTEXT = 14,
        /// alter_context_resp
        ALTER_CONTEXT_RESP = 15,
        /// rpc_auth_3 ([MS-RPCE 2.2.2.10])
        AUTH3 = 16,
        /// shutdown
        SHUTDOWN = 17,
        /// co_cancel
        CO_CANCEL = 18,
        /// orphaned
        ORPHANED = 19,
    }
}

code_newtype! {
    /// [C706 12.6.3.1] `pfc_flags`, a bit set.
    PfcFlags(u8) {
        /// First fragment of a call
        FIRST_FRAG = 0x01,
        /// Last fragment of a call
        LAST_FRAG = 0x02,
        /// Cancel pending; in a bind, [MS-RPCE 2.2.2.3] PFC_SUPPORT_HEADER_SIGN
        PENDING_CANCEL = 0x04,
        /// Reserved
        RESERVED_1 = 0x08,
        /// Concurrent multiplexing supported
        CONC_MPX = 0x10,
        /// In a fault: the call did not execute
        DID_NOT_EXECUTE = 0x20,
        /// `maybe` call semantics
        MAYBE = 0x40,
        /// An object UUID follows the request header
        OBJECT_UUID = 0x80,
        /// A whole call in one fragment
        FIRST_AND_LAST = 0x03,
    }
}

impl PfcFlags {
    /// Whether every bit of `other` is set.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

/// [C706 14.1] `packed_drep`: integer, character and floating-point formats of the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DataRepresentation(pub [u8; 4]);

impl DataRepresentation {
    /// Little-endian integers, ASCII characters, IEEE floats: what Windows (and rdlic) sends.
    pub const LITTLE_ENDIAN: Self = Self([0x10, 0, 0, 0]);

    /// `true` for little-endian integers (high nibble 1), `false` for big-endian (0); `None` otherwise.
    pub fn little_endian(self) -> Option<bool> {
        match self.0[0] >> 4 {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
}

/// [C706 12.6.3.1] The common header of every connection-oriented PDU (16 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// `rpc_vers_minor` (`rpc_vers` is always 5): 0, or 1 ([MS-RPCE 2.2.2.13] allows 5.1)
    pub version_minor: u8,
    /// `PTYPE`
    pub packet_type: PacketType,
    /// `pfc_flags`
    pub flags: PfcFlags,
    /// `packed_drep`
    pub drep: DataRepresentation,
    /// `frag_length`: the whole fragment, header included
    pub frag_length: u16,
    /// `auth_length`: the authentication value, without the 8-byte `sec_trailer`
    pub auth_length: u16,
    /// `call_id`
    pub call_id: u32,
}

impl Header {
    /// Size of the common header.
    pub const LEN: usize = 16;

    /// Decodes the common header at the start of `bytes` (a framer reads 16 bytes, then `frag_length - 16`).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, true);
        let major = r.u8("rpc_vers")?;
        let version_minor = r.u8("rpc_vers_minor")?;
        if major != 5 || version_minor > 1 {
            return Err(DecodeError::Version { major, minor: version_minor });
        }
        let packet_type = PacketType(r.u8("PTYPE")?);
        let flags = PfcFlags(r.u8("pfc_flags")?);
        let drep = DataRepresentation(r.array::<4>("packed_drep")?);
        let little = drep.little_endian().ok_or(DecodeError::DataRepresentation(drep.0))?;
        let mut r = Reader::at(bytes, r.pos(), little);
        let frag_length = r.u16("frag_length")?;
        let auth_length = r.u16("auth_length")?;
        let call_id = r.u32("call_id")?;
        let header = Self { version_minor, packet_type, flags, drep, frag_length, auth_length, call_id };
        let minimum = Self::LEN + if auth_length > 0 { SEC_TRAILER_LEN + usize::from(auth_length) } else { 0 };
        if usize::from(frag_length) < minimum {
            return Err(DecodeError::Invalid {
                what: "frag_length",
                reason: format!("{frag_length} is less than the header and verifier ({minimum})"),
            });
        }
        Ok(header)
    }

    fn write(&self, w: &mut Writer) {
        w.u8(5);
        w.u8(self.version_minor);
        w.u8(self.packet_type.0);
        w.u8(self.flags.0);
        // Always little-endian on output, whatever `drep` said on input.
        w.bytes(&DataRepresentation::LITTLE_ENDIAN.0);
        w.u16(self.frag_length);
        w.u16(self.auth_length);
        w.u32(self.call_id);
    }
}

/// [MS-RPCE 2.2.2.11] `sec_trailer` size.
const SEC_TRAILER_LEN: usize = 8;

/// [MS-RPCE 2.2.2.11] The authentication verifier: `sec_trailer` and the `auth_value` of a secured PDU. rdlic
/// never authenticates; a verifier is kept so that a PDU re-encodes as it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthVerifier {
    /// `auth_type` (e.g. 0x0a NTLM, 0x09 Negotiate)
    pub auth_type: u8,
    /// `auth_level`
    pub auth_level: u8,
    /// `auth_pad_length`: padding bytes between the stub and the trailer
    pub pad_length: u8,
    /// `auth_context_id`
    pub context_id: u32,
    /// `auth_value`
    pub value: Vec<u8>,
}

code_newtype! {
    /// [C706 12.6.3.1] `p_cont_def_result_t`, with [MS-RPCE 2.2.2.4] `negotiate_ack`.
    ContextResult(u16) {
        /// The presentation context is accepted
        ACCEPTANCE = 0,
        /// Rejected by the server application
        USER_REJECTION = 1,
        /// Rejected by the RPC runtime (see the reason)
        PROVIDER_REJECTION = 2,
        /// [MS-RPCE 2.2.2.4] Bind time feature negotiation answer
        NEGOTIATE_ACK = 3,
    }
}

code_newtype! {
    /// [C706 12.6.3.1] `p_provider_reason_t`: why a presentation context was rejected, with the [MS-RPCE
    /// 2.2.2.5] additions.
    ProviderReason(u16) {
        /// Not said
        REASON_NOT_SPECIFIED = 0,
        /// The server does not offer this interface (and version)
        ABSTRACT_SYNTAX_NOT_SUPPORTED = 1,
        /// None of the transfer syntaxes proposed is supported
        PROPOSED_TRANSFER_SYNTAXES_NOT_SUPPORTED = 2,
        /// A local limit was exceeded
        LOCAL_LIMIT_EXCEEDED = 3,
        /// [MS-RPCE] The protocol version is not specified
        PROTOCOL_VERSION_NOT_SPECIFIED = 4,
        /// [MS-RPCE] The authentication type is not recognised
        AUTHENTICATION_TYPE_NOT_RECOGNIZED = 8,
        /// [MS-RPCE] Invalid checksum
        INVALID_CHECKSUM = 9,
    }
}

code_newtype! {
    /// [C706 12.6.3.1] `p_reject_reason_t`: why a bind_nak refuses the association, with the [MS-RPCE 2.2.2.5]
    /// additions.
    RejectReason(u16) {
        /// Not said
        REASON_NOT_SPECIFIED = 0,
        /// Temporary congestion
        TEMPORARY_CONGESTION = 1,
        /// A local limit was exceeded
        LOCAL_LIMIT_EXCEEDED = 2,
        /// Called presentation address unknown
        CALLED_PADDR_UNKNOWN = 3,
        /// The protocol version is not supported
        PROTOCOL_VERSION_NOT_SUPPORTED = 4,
        /// The default context is not supported
        DEFAULT_CONTEXT_NOT_SUPPORTED = 5,
        /// User data not readable
        USER_DATA_NOT_READABLE = 6,
        /// No presentation service access point available
        NO_PSAP_AVAILABLE = 7,
        /// [MS-RPCE] Authentication type not recognised
        AUTHENTICATION_TYPE_NOT_RECOGNIZED = 8,
        /// [MS-RPCE] Invalid checksum
        INVALID_CHECKSUM = 9,
    }
}

code_newtype! {
    /// [C706 Appendix E] and [MS-RPCE 2.2.2.9] Fault status codes (`status` of a fault PDU); the common ones.
    FaultStatus(u32) {
        /// Access denied ([MS-RPCE]: ERROR_ACCESS_DENIED)
        ACCESS_DENIED = 0x0000_0005,
        /// The procedure number is out of range ([MS-RPCE]: RPC_S_PROCNUM_OUT_OF_RANGE)
        PROCNUM_OUT_OF_RANGE = 0x0000_06d1,
        /// The stub received bad data ([MS-RPCE]: RPC_X_BAD_STUB_DATA)
        BAD_STUB_DATA = 0x0000_06f7,
        /// Communication failure
        NCA_S_COMM_FAILURE = 0x1c01_0001,
        /// The operation number is out of range
        NCA_S_OP_RNG_ERROR = 0x1c01_0002,
        /// Unknown interface
        NCA_S_UNK_IF = 0x1c01_0003,
        /// Protocol error
        NCA_S_PROTO_ERROR = 0x1c01_000b,
        /// The server is too busy
        NCA_S_SERVER_TOO_BUSY = 0x1c01_0014,
        /// Context mismatch
        NCA_S_FAULT_CONTEXT_MISMATCH = 0x1c00_001a,
    }
}

/// [C706 12.6.3.1] `p_cont_elem_t`: one presentation context proposed in a bind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextElement {
    /// `p_cont_id`
    pub context_id: u16,
    /// `abstract_syntax`: the interface
    pub abstract_syntax: SyntaxId,
    /// `transfer_syntaxes`
    pub transfer_syntaxes: Vec<SyntaxId>,
}

/// [C706 12.6.4.3] bind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    /// `max_xmit_frag`
    pub max_xmit_frag: u16,
    /// `max_recv_frag`
    pub max_recv_frag: u16,
    /// `assoc_group_id` (0: a new association group)
    pub assoc_group_id: u32,
    /// `p_context_elem`
    pub contexts: Vec<ContextElement>,
}

/// [C706 12.6.3.1] `p_result_t`: the server's answer to one presentation context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextAnswer {
    /// `result`
    pub result: ContextResult,
    /// `reason` (meaningful when rejected)
    pub reason: ProviderReason,
    /// `transfer_syntax` chosen (all zero when rejected)
    pub transfer_syntax: SyntaxId,
}

/// [C706 12.6.4.4] bind_ack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindAck {
    /// `max_xmit_frag`
    pub max_xmit_frag: u16,
    /// `max_recv_frag`
    pub max_recv_frag: u16,
    /// `assoc_group_id`
    pub assoc_group_id: u32,
    /// `sec_addr.port_spec` without its terminating NUL: the server's port ("49669") or pipe name, possibly empty
    pub secondary_address: Vec<u8>,
    /// `p_result_list`, one per proposed context, in order
    pub results: Vec<ContextAnswer>,
}

/// [C706 12.6.4.5] bind_nak.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindNak {
    /// `provider_reject_reason`
    pub reason: RejectReason,
    /// `versions`: the protocol versions (major, minor) the server supports
    pub versions: Vec<(u8, u8)>,
    /// Bytes after the versions ([MS-RPCE 2.2.2.5]: padding and an optional signature)
    pub trailer: Vec<u8>,
}

/// [C706 12.6.4.9] request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `alloc_hint`: the size of the whole stub, when known
    pub alloc_hint: u32,
    /// `p_cont_id`
    pub context_id: u16,
    /// `opnum`
    pub opnum: u16,
    /// `object` (present when PFC_OBJECT_UUID is set)
    pub object: Option<Uuid>,
    /// NDR stub data
    pub stub: Vec<u8>,
}

/// [C706 12.6.4.10] response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// `alloc_hint`
    pub alloc_hint: u32,
    /// `p_cont_id`
    pub context_id: u16,
    /// `cancel_count`
    pub cancel_count: u8,
    /// NDR stub data
    pub stub: Vec<u8>,
}

/// [C706 12.6.4.7] fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// `alloc_hint`
    pub alloc_hint: u32,
    /// `p_cont_id`
    pub context_id: u16,
    /// `cancel_count`
    pub cancel_count: u8,
    /// `status`
    pub status: FaultStatus,
    /// Stub data, if any ([MS-RPCE 2.2.2.9]: extended error information)
    pub stub: Vec<u8>,
}

/// The body of a PDU, by type.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Body {
    /// bind
    Bind(Bind),
    /// bind_ack
    BindAck(BindAck),
    /// bind_nak
    BindNak(BindNak),
    /// request
    Request(Request),
    /// response
    Response(Response),
    /// fault
    Fault(Fault),
    /// Any other type, body kept as bytes
    Other(Vec<u8>),
}

/// One connection-oriented PDU (one fragment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdu {
    /// Common header (`frag_length` and `auth_length` are recomputed by [`Pdu::encode`])
    pub header: Header,
    /// Body
    pub body: Body,
    /// Authentication verifier, if `auth_length` was not 0
    pub auth: Option<AuthVerifier>,
}

impl Pdu {
    /// A PDU in one fragment (first and last), little-endian, without authentication.
    pub fn new(call_id: u32, body: Body) -> Self {
        let packet_type = match &body {
            Body::Bind(_) => PacketType::BIND,
            Body::BindAck(_) => PacketType::BIND_ACK,
            Body::BindNak(_) => PacketType::BIND_NAK,
            Body::Request(_) => PacketType::REQUEST,
            Body::Response(_) => PacketType::RESPONSE,
            Body::Fault(_) => PacketType::FAULT,
            Body::Other(_) => PacketType::SHUTDOWN,
        };
        let mut flags = PfcFlags::FIRST_AND_LAST;
        if let Body::Request(Request { object: Some(_), .. }) = &body {
            flags = PfcFlags(flags.0 | PfcFlags::OBJECT_UUID.0);
        }
        let header = Header {
            version_minor: 0,
            packet_type,
            flags,
            drep: DataRepresentation::LITTLE_ENDIAN,
            frag_length: 0,
            auth_length: 0,
            call_id,
        };
        Self { header, body, auth: None }
    }

    /// Decodes the fragment at the start of `bytes`; returns it and its length (`frag_length`).
    pub fn decode(bytes: &[u8]) -> Result<(Self, usize), DecodeError> {
        let header = Header::decode(bytes)?;
        let frag_length = usize::from(header.frag_length);
        let fragment = bytes.get(..frag_length).ok_or(DecodeError::Truncated {
            what: "fragment",
            offset: 0,
            needed: frag_length,
            available: bytes.len(),
        })?;
        let little = header.drep.little_endian().unwrap_or(true);

        // The verifier, when there is one, is the fragment's tail; the body ends before its padding.
        let (body_end, auth) = if header.auth_length > 0 {
            let trailer_at = frag_length - usize::from(header.auth_length) - SEC_TRAILER_LEN;
            let mut r = Reader::at(fragment, trailer_at, little);
            let auth_type = r.u8("auth_type")?;
            let auth_level = r.u8("auth_level")?;
            let pad_length = r.u8("auth_pad_length")?;
            let _reserved = r.u8("auth_reserved")?;
            let context_id = r.u32("auth_context_id")?;
            let value = r.rest().to_vec();
            let body_end = trailer_at.checked_sub(usize::from(pad_length)).filter(|e| *e >= Header::LEN).ok_or_else(
                || DecodeError::Invalid { what: "auth_pad_length", reason: format!("{pad_length} exceeds the body") },
            )?;
            (body_end, Some(AuthVerifier { auth_type, auth_level, pad_length, context_id, value }))
        } else {
            (frag_length, None)
        };
        let body_bytes = fragment.get(..body_end).unwrap_or_default();
        let mut r = Reader::at(body_bytes, Header::LEN, little);
        let body = match header.packet_type {
            PacketType::BIND | PacketType::ALTER_CONTEXT => Body::Bind(decode_bind(&mut r)?),
            PacketType::BIND_ACK | PacketType::ALTER_CONTEXT_RESP => Body::BindAck(decode_bind_ack(&mut r)?),
            PacketType::BIND_NAK => Body::BindNak(decode_bind_nak(&mut r)?),
            PacketType::REQUEST => Body::Request(decode_request(&mut r, header.flags)?),
            PacketType::RESPONSE => Body::Response(decode_response(&mut r)?),
            PacketType::FAULT => Body::Fault(decode_fault(&mut r)?),
            _ => Body::Other(r.rest().to_vec()),
        };
        Ok((Self { header, body, auth }, frag_length))
    }

    /// Encodes the PDU, little-endian, with `frag_length` and `auth_length` computed.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut w = Writer::default();
        self.header.write(&mut w);
        match &self.body {
            Body::Bind(bind) => encode_bind(bind, &mut w)?,
            Body::BindAck(ack) => encode_bind_ack(ack, &mut w)?,
            Body::BindNak(nak) => {
                w.u16(nak.reason.0);
                w.u8(len_u8("bind_nak versions", nak.versions.len())?);
                for (major, minor) in &nak.versions {
                    w.u8(*major);
                    w.u8(*minor);
                }
                w.bytes(&nak.trailer);
            }
            Body::Request(request) => {
                w.u32(request.alloc_hint);
                w.u16(request.context_id);
                w.u16(request.opnum);
                if let Some(object) = request.object {
                    object.write(&mut w);
                }
                w.bytes(&request.stub);
            }
            Body::Response(response) => {
                w.u32(response.alloc_hint);
                w.u16(response.context_id);
                w.u8(response.cancel_count);
                w.u8(0);
                w.bytes(&response.stub);
            }
            Body::Fault(fault) => {
                w.u32(fault.alloc_hint);
                w.u16(fault.context_id);
                w.u8(fault.cancel_count);
                w.u8(0);
                w.u32(fault.status.0);
                w.u32(0);
                w.bytes(&fault.stub);
            }
            Body::Other(bytes) => w.bytes(bytes),
        }
        let mut auth_length = 0;
        if let Some(auth) = &self.auth {
            w.bytes(&vec![0; usize::from(auth.pad_length)]);
            w.u8(auth.auth_type);
            w.u8(auth.auth_level);
            w.u8(auth.pad_length);
            w.u8(0);
            w.u32(auth.context_id);
            w.bytes(&auth.value);
            auth_length = len_u16("auth_value", auth.value.len())?;
        }
        let frag_length = len_u16("fragment", w.buf.len())?;
        let mut out = w.buf;
        out[8..10].copy_from_slice(&frag_length.to_le_bytes());
        out[10..12].copy_from_slice(&auth_length.to_le_bytes());
        Ok(out)
    }
}

fn decode_bind(r: &mut Reader<'_>) -> Result<Bind, DecodeError> {
    let max_xmit_frag = r.u16("max_xmit_frag")?;
    let max_recv_frag = r.u16("max_recv_frag")?;
    let assoc_group_id = r.u32("assoc_group_id")?;
    let count = r.u8("n_context_elem")?;
    r.take(3, "p_context_elem reserved")?;
    let mut contexts = Vec::new();
    for _ in 0..count {
        let context_id = r.u16("p_cont_id")?;
        let transfers = r.u8("n_transfer_syn")?;
        r.take(1, "p_cont_elem reserved")?;
        let abstract_syntax = SyntaxId::read(r)?;
        let mut transfer_syntaxes = Vec::new();
        for _ in 0..transfers {
            transfer_syntaxes.push(SyntaxId::read(r)?);
        }
        contexts.push(ContextElement { context_id, abstract_syntax, transfer_syntaxes });
    }
    Ok(Bind { max_xmit_frag, max_recv_frag, assoc_group_id, contexts })
}

fn encode_bind(bind: &Bind, w: &mut Writer) -> Result<(), EncodeError> {
    w.u16(bind.max_xmit_frag);
    w.u16(bind.max_recv_frag);
    w.u32(bind.assoc_group_id);
    w.u8(len_u8("bind contexts", bind.contexts.len())?);
    w.bytes(&[0, 0, 0]);
    for context in &bind.contexts {
        w.u16(context.context_id);
        w.u8(len_u8("transfer syntaxes", context.transfer_syntaxes.len())?);
        w.u8(0);
        context.abstract_syntax.write(w);
        for syntax in &context.transfer_syntaxes {
            syntax.write(w);
        }
    }
    Ok(())
}

fn decode_bind_ack(r: &mut Reader<'_>) -> Result<BindAck, DecodeError> {
    let max_xmit_frag = r.u16("max_xmit_frag")?;
    let max_recv_frag = r.u16("max_recv_frag")?;
    let assoc_group_id = r.u32("assoc_group_id")?;
    let length = r.u16("sec_addr length")?;
    let mut secondary_address = r.take(usize::from(length), "sec_addr port_spec")?.to_vec();
    if secondary_address.last() == Some(&0) {
        secondary_address.pop();
    }
    // The result list is 4-byte aligned from the start of the PDU.
    r.align(4, "bind_ack padding")?;
    let count = r.u8("n_results")?;
    r.take(3, "p_result_list reserved")?;
    let mut results = Vec::new();
    for _ in 0..count {
        let result = ContextResult(r.u16("result")?);
        let reason = ProviderReason(r.u16("reason")?);
        let transfer_syntax = SyntaxId::read(r)?;
        results.push(ContextAnswer { result, reason, transfer_syntax });
    }
    Ok(BindAck { max_xmit_frag, max_recv_frag, assoc_group_id, secondary_address, results })
}

fn encode_bind_ack(ack: &BindAck, w: &mut Writer) -> Result<(), EncodeError> {
    w.u16(ack.max_xmit_frag);
    w.u16(ack.max_recv_frag);
    w.u32(ack.assoc_group_id);
    // An empty port_spec is sent as length 0 (Windows answers so on an alter_context); otherwise NUL-terminated.
    if ack.secondary_address.is_empty() {
        w.u16(0);
    } else {
        w.u16(len_u16("sec_addr", ack.secondary_address.len() + 1)?);
        w.bytes(&ack.secondary_address);
        w.u8(0);
    }
    w.align(4);
    w.u8(len_u8("bind_ack results", ack.results.len())?);
    w.bytes(&[0, 0, 0]);
    for answer in &ack.results {
        w.u16(answer.result.0);
        w.u16(answer.reason.0);
        answer.transfer_syntax.write(w);
    }
    Ok(())
}

fn decode_bind_nak(r: &mut Reader<'_>) -> Result<BindNak, DecodeError> {
    let reason = RejectReason(r.u16("provider_reject_reason")?);
    // Some servers send only the reason; the version list is then empty.
    let mut versions = Vec::new();
    if r.remaining() > 0 {
        let count = r.u8("n_protocols")?;
        for _ in 0..count {
            let major = r.u8("rpc_vers")?;
            let minor = r.u8("rpc_vers_minor")?;
            versions.push((major, minor));
        }
    }
    Ok(BindNak { reason, versions, trailer: r.rest().to_vec() })
}

fn decode_request(r: &mut Reader<'_>, flags: PfcFlags) -> Result<Request, DecodeError> {
    let alloc_hint = r.u32("alloc_hint")?;
    let context_id = r.u16("p_cont_id")?;
    let opnum = r.u16("opnum")?;
    let object = if flags.contains(PfcFlags::OBJECT_UUID) { Some(Uuid::read(r)?) } else { None };
    Ok(Request { alloc_hint, context_id, opnum, object, stub: r.rest().to_vec() })
}

fn decode_response(r: &mut Reader<'_>) -> Result<Response, DecodeError> {
    let alloc_hint = r.u32("alloc_hint")?;
    let context_id = r.u16("p_cont_id")?;
    let cancel_count = r.u8("cancel_count")?;
    r.take(1, "response reserved")?;
    Ok(Response { alloc_hint, context_id, cancel_count, stub: r.rest().to_vec() })
}

fn decode_fault(r: &mut Reader<'_>) -> Result<Fault, DecodeError> {
    let alloc_hint = r.u32("alloc_hint")?;
    let context_id = r.u16("p_cont_id")?;
    let cancel_count = r.u8("cancel_count")?;
    r.take(1, "fault reserved")?;
    let status = FaultStatus(r.u32("status")?);
    r.take(4, "fault reserved2")?;
    Ok(Fault { alloc_hint, context_id, cancel_count, status, stub: r.rest().to_vec() })
}

/// `len` as the `alloc_hint` of a stub.
pub(crate) fn alloc_hint(stub: &[u8]) -> Result<u32, EncodeError> {
    len_u32("stub", stub.len())
}
