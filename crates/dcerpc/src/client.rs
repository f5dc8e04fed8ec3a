//! A sans-IO DCE/RPC client for one association: bind to one interface, then make at most one call.
//!
//! ```text
//! start() ─► bind ─► ExpectBindAnswer ─┬─ bind_nak ─────────────────────────► Done(BindRefused)
//!                                      ├─ bind_ack, context rejected ───────► Done(ContextRejected)
//!                                      ├─ bind_ack, accepted, no call ──────► Done(Bound)
//!                                      └─ bind_ack, accepted ─► request ─► ExpectResponse ─┬─ response ─► Done(Response)
//!                                                                                            └─ fault ────► Done(Fault)
//! ```
//!
//! The caller frames the byte stream with [`Header::decode`] (`frag_length`) and hands each whole PDU to
//! [`Client::handle`]; a fragmented response is reassembled here. Any error poisons the client.

use crate::error::{DecodeError, EncodeError};
use crate::pdu::{
    alloc_hint, Bind, BindAck, BindNak, Body, ContextAnswer, ContextElement, ContextResult, Fault, Header, PacketType,
    Pdu, PfcFlags, Request,
};
use crate::syntax::SyntaxId;

/// The fragment size rdlic offers (Windows' default for TCP).
pub const MAX_FRAG: u16 = 4280;

/// A reassembled response larger than this is refused.
pub const MAX_STUB: usize = 1 << 20;

/// What to do in the association.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// The interface to bind to (transfer syntax NDR v2.0)
    pub interface: SyntaxId,
    /// One call after the bind: operation number and NDR stub; `None` stops after the bind
    pub call: Option<(u16, Vec<u8>)>,
}

/// How the association ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server accepted the presentation context; no call was asked for.
    Bound(BindAck),
    /// The server refused the association (bind_nak).
    BindRefused(BindNak),
    /// The server answered the bind but rejected the presentation context.
    ContextRejected {
        /// The whole bind_ack
        ack: BindAck,
        /// The answer to our context
        answer: ContextAnswer,
    },
    /// The call's response.
    Response {
        /// The bind_ack
        ack: BindAck,
        /// The reassembled NDR stub
        stub: Vec<u8>,
        /// The response's data representation (for the stub's decoder)
        little_endian: bool,
    },
    /// The call failed at the server.
    Fault {
        /// The bind_ack
        ack: BindAck,
        /// The fault
        fault: Fault,
    },
}

/// What the caller does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send these bytes, then read the next PDU.
    Send(Vec<u8>),
    /// Read the next PDU (more fragments of the response).
    Read,
    /// Finished.
    Done(Outcome),
}

/// A PDU the client did not expect, or could not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The bytes are not a valid PDU
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The call's stub does not fit a PDU
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// A PDU of a type that has no place in this state
    #[error("unexpected {received} pdu while {state}")]
    Unexpected { state: &'static str, received: PacketType },
    /// A PDU for another call
    #[error("call id {received} does not match the call in progress ({expected})")]
    CallId { expected: u32, received: u32 },
    /// A bind_ack without an answer for the proposed context
    #[error("the bind_ack has no result for the proposed presentation context")]
    NoContextResult,
    /// A response larger than [`MAX_STUB`]
    #[error("the response stub exceeds {MAX_STUB} bytes")]
    StubTooLarge,
    /// `start` twice, or a PDU after the end
    #[error("the client is {0}")]
    State(&'static str),
}

#[derive(Debug)]
enum State {
    Start,
    ExpectBindAnswer,
    ExpectResponse { ack: BindAck, stub: Vec<u8> },
    Finished,
}

/// The client state machine.
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    state: State,
}

/// Call id of the bind (and, by [C706 12.4] convention, of nothing else).
const BIND_CALL_ID: u32 = 1;
/// Call id of the one request.
const REQUEST_CALL_ID: u32 = 2;

impl Client {
    /// A client that has sent nothing yet.
    pub fn new(config: ClientConfig) -> Self {
        Self { config, state: State::Start }
    }

    /// The bind to send first.
    pub fn start(&mut self) -> Result<Vec<u8>, ClientError> {
        if !matches!(self.state, State::Start) {
            return Err(ClientError::State("already started"));
        }
        self.state = State::Finished;
        let bytes = bind_pdu(self.config.interface, BIND_CALL_ID).encode()?;
        self.state = State::ExpectBindAnswer;
        Ok(bytes)
    }

    /// Handles one whole PDU from the server.
    pub fn handle(&mut self, bytes: &[u8]) -> Result<Step, ClientError> {
        // Poisoned until this PDU has been handled well.
        let state = std::mem::replace(&mut self.state, State::Finished);
        let (pdu, _) = Pdu::decode(bytes)?;
        let little = pdu.header.drep.little_endian().unwrap_or(true);
        match (state, pdu.body) {
            (State::ExpectBindAnswer, Body::BindNak(nak)) => Ok(Step::Done(Outcome::BindRefused(nak))),
            (State::ExpectBindAnswer, Body::BindAck(ack)) => {
                check_call_id(BIND_CALL_ID, pdu.header.call_id)?;
                let answer = *ack.results.first().ok_or(ClientError::NoContextResult)?;
                if answer.result != ContextResult::ACCEPTANCE {
                    return Ok(Step::Done(Outcome::ContextRejected { ack, answer }));
                }
                let Some((opnum, stub)) = self.config.call.clone() else {
                    return Ok(Step::Done(Outcome::Bound(ack)));
                };
                let request = Request { alloc_hint: alloc_hint(&stub)?, context_id: 0, opnum, object: None, stub };
                let bytes = Pdu::new(REQUEST_CALL_ID, Body::Request(request)).encode()?;
                self.state = State::ExpectResponse { ack, stub: Vec::new() };
                Ok(Step::Send(bytes))
            }
            (State::ExpectResponse { ack, mut stub }, Body::Response(response)) => {
                check_call_id(REQUEST_CALL_ID, pdu.header.call_id)?;
                if stub.len().saturating_add(response.stub.len()) > MAX_STUB {
                    return Err(ClientError::StubTooLarge);
                }
                stub.extend_from_slice(&response.stub);
                if pdu.header.flags.contains(PfcFlags::LAST_FRAG) {
                    Ok(Step::Done(Outcome::Response { ack, stub, little_endian: little }))
                } else {
                    self.state = State::ExpectResponse { ack, stub };
                    Ok(Step::Read)
                }
            }
            (State::ExpectResponse { ack, .. }, Body::Fault(fault)) => Ok(Step::Done(Outcome::Fault { ack, fault })),
            (State::ExpectBindAnswer, _) => {
                Err(ClientError::Unexpected { state: "waiting for bind_ack", received: pdu.header.packet_type })
            }
            (State::ExpectResponse { .. }, _) => {
                Err(ClientError::Unexpected { state: "waiting for the response", received: pdu.header.packet_type })
            }
            (State::Start | State::Finished, _) => Err(ClientError::State("not waiting for a pdu")),
        }
    }
}

fn check_call_id(expected: u32, received: u32) -> Result<(), ClientError> {
    if expected == received {
        Ok(())
    } else {
        Err(ClientError::CallId { expected, received })
    }
}

/// The bind rdlic sends: one presentation context (id 0) for `interface` with NDR v2.0, fragments of
/// [`MAX_FRAG`] both ways, a new association group.
pub fn bind_pdu(interface: SyntaxId, call_id: u32) -> Pdu {
    Pdu::new(
        call_id,
        Body::Bind(Bind {
            max_xmit_frag: MAX_FRAG,
            max_recv_frag: MAX_FRAG,
            assoc_group_id: 0,
            contexts: vec![ContextElement {
                context_id: 0,
                abstract_syntax: interface,
                transfer_syntaxes: vec![SyntaxId::NDR_V2],
            }],
        }),
    )
}

/// Reads the 16-byte header of the next PDU and says how many bytes the whole PDU has.
pub fn frag_length(header: &[u8]) -> Result<usize, DecodeError> {
    Header::decode(header).map(|h| usize::from(h.frag_length))
}
