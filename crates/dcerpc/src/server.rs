//! The server side, as much as a small endpoint mapper (or any listener that only accepts binds) needs: the
//! answer to a bind, and a response or fault to a request. The request stub of `ept_map` decodes with
//! [`crate::epm::EptMapRequest::decode`], its answer encodes with [`crate::epm::EptMapResponse::encode`].

use crate::pdu::{
    alloc_hint, Bind, BindAck, Body, ContextAnswer, ContextResult, Fault, FaultStatus, Pdu, ProviderReason, Response,
};
use crate::syntax::SyntaxId;
use crate::EncodeError;

/// [C706 12.6.4.4] The bind_ack a server offering `interfaces` (NDR only) gives to `bind`: each context is
/// accepted when its interface is offered (same UUID and major version, a minor version at least the client's,
/// [C706 12.3.1]) and it proposes NDR v2.0, rejected by the provider with the reason otherwise. `secondary_address` is the server's port as text ("135").
pub fn answer_bind(bind: &Bind, interfaces: &[SyntaxId], secondary_address: &str) -> BindAck {
    let results = bind
        .contexts
        .iter()
        .map(|context| {
            let asked = context.abstract_syntax;
            let offered = interfaces
                .iter()
                .any(|i| i.uuid == asked.uuid && i.major == asked.major && i.minor >= asked.minor);
            if !offered {
                rejected(ProviderReason::ABSTRACT_SYNTAX_NOT_SUPPORTED)
            } else if !context.transfer_syntaxes.contains(&SyntaxId::NDR_V2) {
                rejected(ProviderReason::PROPOSED_TRANSFER_SYNTAXES_NOT_SUPPORTED)
            } else {
                ContextAnswer {
                    result: ContextResult::ACCEPTANCE,
                    reason: ProviderReason::REASON_NOT_SPECIFIED,
                    transfer_syntax: SyntaxId::NDR_V2,
                }
            }
        })
        .collect();
    BindAck {
        max_xmit_frag: bind.max_xmit_frag.min(crate::client::MAX_FRAG),
        max_recv_frag: bind.max_recv_frag.min(crate::client::MAX_FRAG),
        assoc_group_id: if bind.assoc_group_id == 0 { 0x0001_2345 } else { bind.assoc_group_id },
        secondary_address: secondary_address.as_bytes().to_vec(),
        results,
    }
}

fn rejected(reason: ProviderReason) -> ContextAnswer {
    ContextAnswer { result: ContextResult::PROVIDER_REJECTION, reason, transfer_syntax: SyntaxId::default() }
}

/// A response PDU carrying `stub` for call `call_id` on context `context_id`.
pub fn response(call_id: u32, context_id: u16, stub: Vec<u8>) -> Result<Vec<u8>, EncodeError> {
    let body = Response { alloc_hint: alloc_hint(&stub)?, context_id, cancel_count: 0, stub };
    Pdu::new(call_id, Body::Response(body)).encode()
}

/// A fault PDU with `status` for call `call_id`.
pub fn fault(call_id: u32, context_id: u16, status: FaultStatus) -> Result<Vec<u8>, EncodeError> {
    let body = Fault { alloc_hint: 0, context_id, cancel_count: 0, status, stub: Vec::new() };
    Pdu::new(call_id, Body::Fault(body)).encode()
}
