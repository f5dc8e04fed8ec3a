//! Framing between the licensing bytes of `rdpele` and the RDP transport: the MCS/X.224 envelope, the security
//! header of licensing PDUs, and the few server PDUs the acceptor does not expose (Set Error Info, Disconnect
//! Provider Ultimatum, the finalization PDUs sent early for rdesktop).
//!
//! Everything here is a pure function over bytes.

use std::borrow::Cow;

use ironrdp_core::{decode, encode_vec, Encode};
use ironrdp_pdu::mcs::{DisconnectProviderUltimatum, DisconnectReason, McsMessage, SendDataIndication};
use ironrdp_pdu::rdp::client_info::CompressionType;
use ironrdp_pdu::rdp::finalization_messages::{ControlAction, ControlPdu, SynchronizePdu};
use ironrdp_pdu::rdp::headers::{
    CompressionFlags, ShareControlHeader, ShareControlPdu, ShareDataHeader, ShareDataPdu, StreamPriority,
};
use ironrdp_pdu::x224::X224;

/// MCS user channel the acceptor assigns to the client (also the server's initiator id on Send Data Indication).
pub(crate) const USER_CHANNEL_ID: u16 = 1002;
/// MCS I/O channel fixed inside `ironrdp-acceptor` 0.12.
pub(crate) const IO_CHANNEL_ID: u16 = 1003;

/// [MS-RDPBCGR 2.2.8.1.1.2.1] `SEC_LICENSE_PKT`: set in the basic security header of every licensing PDU.
const SEC_LICENSE_PKT: u16 = 0x0080;

/// [MS-RDPBCGR 2.2.8.1.1.3.1.1] `PDUTYPE2_SET_ERROR_INFO_PDU`.
const PDUTYPE2_SET_ERROR_INFO_PDU: u8 = 47;
/// [MS-RDPBCGR 2.2.8.1.1.1.1] `PDUTYPE_DATAPDU` with `TS_PROTOCOL_VERSION` (0x10).
const PDUTYPE_DATAPDU: u16 = 0x0017;

/// Errors while unwrapping a client PDU.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum WireError {
    #[error("client PDU is not an MCS message: {0}")]
    NotMcs(String),
    #[error("client sent an MCS disconnect provider ultimatum")]
    ClientDisconnected,
    #[error("client PDU on channel {channel} is not a licensing PDU (security flags {flags:#06x})")]
    NotLicensing { channel: u16, flags: u16 },
    #[error("unexpected MCS message {0} during licensing")]
    Unexpected(&'static str),
    #[error("cannot encode a server PDU: {0}")]
    Encode(String),
}

/// Wraps one licensing PDU (starting at LICENSE_PREAMBLE) in a basic security header with `SEC_LICENSE_PKT`,
/// an MCS Send Data Indication on the I/O channel and an X.224 data TPDU.
pub(crate) fn wrap_licensing_pdu(licensing_pdu: &[u8]) -> Result<Vec<u8>, WireError> {
    let mut user_data = Vec::with_capacity(licensing_pdu.len() + 4);
    // [2.2.8.1.1.2.1] TS_SECURITY_HEADER: flags (u16), flagsHi (u16).
    user_data.extend_from_slice(&SEC_LICENSE_PKT.to_le_bytes());
    user_data.extend_from_slice(&0u16.to_le_bytes());
    user_data.extend_from_slice(licensing_pdu);
    send_data_indication(user_data)
}

/// Takes one X.224 PDU from the client during licensing and returns the licensing PDU it carries (without the
/// security header).
pub(crate) fn unwrap_licensing_pdu(frame: &[u8]) -> Result<Vec<u8>, WireError> {
    let message = decode::<X224<McsMessage<'_>>>(frame).map_err(|e| WireError::NotMcs(e.to_string()))?.0;
    match message {
        McsMessage::SendDataRequest(request) => {
            let data = request.user_data.as_ref();
            let flags = data.get(0..2).map(|b| u16::from_le_bytes([b[0], b[1]])).unwrap_or(0);
            if data.len() < 4 || flags & SEC_LICENSE_PKT == 0 {
                return Err(WireError::NotLicensing { channel: request.channel_id, flags });
            }
            Ok(data[4..].to_vec())
        }
        McsMessage::DisconnectProviderUltimatum(_) => Err(WireError::ClientDisconnected),
        McsMessage::ErectDomainRequest(_) => Err(WireError::Unexpected("erect domain request")),
        McsMessage::AttachUserRequest(_) => Err(WireError::Unexpected("attach user request")),
        McsMessage::AttachUserConfirm(_) => Err(WireError::Unexpected("attach user confirm")),
        McsMessage::ChannelJoinRequest(_) => Err(WireError::Unexpected("channel join request")),
        McsMessage::ChannelJoinConfirm(_) => Err(WireError::Unexpected("channel join confirm")),
        McsMessage::SendDataIndication(_) => Err(WireError::Unexpected("send data indication")),
    }
}

/// [MS-RDPBCGR 2.2.5.1.1] ERRINFO_IDLE_TIMEOUT: "the idle session limit timer on the server has elapsed".
pub(crate) const ERRINFO_IDLE_TIMEOUT: u32 = 0x0000_0003;

/// [MS-RDPBCGR 2.2.5.1.1] Set Error Info PDU carrying `errinfo` (e.g. 0x101 ERRINFO_LICENSE_NO_LICENSE_SERVER).
///
/// Encoded here rather than with `ServerSetErrorInfoPdu` because that type only accepts the codes it knows.
pub(crate) fn set_error_info(errinfo: u32) -> Result<Vec<u8>, WireError> {
    let mut pdu = Vec::with_capacity(22);
    // [2.2.8.1.1.1.1] TS_SHARECONTROLHEADER
    pdu.extend_from_slice(&22u16.to_le_bytes()); // totalLength
    pdu.extend_from_slice(&PDUTYPE_DATAPDU.to_le_bytes()); // pduType
    pdu.extend_from_slice(&IO_CHANNEL_ID.to_le_bytes()); // pduSource
    // [2.2.8.1.1.1.2] TS_SHAREDATAHEADER
    pdu.extend_from_slice(&0x0001_03EAu32.to_le_bytes()); // shareId
    pdu.push(0); // pad1
    pdu.push(1); // streamId: STREAM_LOW
    pdu.extend_from_slice(&4u16.to_le_bytes()); // uncompressedLength
    pdu.push(PDUTYPE2_SET_ERROR_INFO_PDU); // pduType2
    pdu.push(0); // compressedType
    pdu.extend_from_slice(&0u16.to_le_bytes()); // compressedLength
    // [2.2.5.1.1] errorInfo
    pdu.extend_from_slice(&errinfo.to_le_bytes());
    send_data_indication(pdu)
}

/// [T.125 11.15] MCS Disconnect Provider Ultimatum (reason rn-provider-initiated) in an X.224 data TPDU.
pub(crate) fn disconnect_provider_ultimatum() -> Result<Vec<u8>, WireError> {
    encode_vec(&X224(DisconnectProviderUltimatum::from_reason(DisconnectReason::ProviderInitiated)))
        .map_err(|e| WireError::Encode(e.to_string()))
}

/// The server's Synchronize, Control (Cooperate) and Control (Granted Control) PDUs of connection finalization
/// ([MS-RDPBCGR 2.2.1.19–2.2.1.21]), sent before the client's Font List for rdesktop (see `session`).
pub(crate) fn early_finalization_pdus() -> Result<Vec<Vec<u8>>, WireError> {
    let pdus = [
        ShareDataPdu::Synchronize(SynchronizePdu { target_user_id: 0 }),
        ShareDataPdu::Control(ControlPdu { action: ControlAction::Cooperate, grant_id: 0, control_id: 0 }),
        ShareDataPdu::Control(ControlPdu {
            action: ControlAction::GrantedControl,
            grant_id: USER_CHANNEL_ID,
            control_id: u32::from(ironrdp_pdu::rdp::capability_sets::SERVER_CHANNEL_ID),
        }),
    ];
    pdus.into_iter().map(|pdu| send_data_indication(encode_share_data(pdu)?)).collect()
}

fn encode_share_data(pdu: ShareDataPdu) -> Result<Vec<u8>, WireError> {
    let header = ShareControlHeader {
        share_id: 0,
        pdu_source: IO_CHANNEL_ID,
        share_control_pdu: ShareControlPdu::Data(ShareDataHeader {
            share_data_pdu: pdu,
            stream_priority: StreamPriority::Undefined,
            compression_flags: CompressionFlags::empty(),
            compression_type: CompressionType::K8,
        }),
    };
    encode_vec(&header).map_err(|e| WireError::Encode(e.to_string()))
}

fn send_data_indication(user_data: Vec<u8>) -> Result<Vec<u8>, WireError> {
    let pdu = SendDataIndication {
        initiator_id: USER_CHANNEL_ID,
        channel_id: IO_CHANNEL_ID,
        user_data: Cow::Owned(user_data),
    };
    encode_x224(&X224(pdu))
}

fn encode_x224<T: Encode>(pdu: &T) -> Result<Vec<u8>, WireError> {
    encode_vec(pdu).map_err(|e| WireError::Encode(e.to_string()))
}

/// What the client sent during the active stage, as far as this host cares.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ActiveInput {
    /// Fast-path or slow-path input, suppress output, anything else: ignored.
    Ignored,
    /// [MS-RDPBCGR 2.2.11.2] Refresh Rect: resend the frame.
    RefreshRect,
    /// [MS-RDPBCGR 2.2.2.1] Shutdown Request, or an MCS Disconnect Provider Ultimatum: end the session.
    Disconnect,
}

/// Classifies one PDU read during the active stage. Undecodable input is ignored, never fatal.
pub(crate) fn classify_active_pdu(frame: &[u8]) -> ActiveInput {
    // Fast-path PDUs have action bits 0 in the first byte; X.224 ones start with TPKT version 3.
    if frame.first() != Some(&0x03) {
        return ActiveInput::Ignored;
    }
    let Ok(X224(message)) = decode::<X224<McsMessage<'_>>>(frame) else {
        return ActiveInput::Ignored;
    };
    match message {
        McsMessage::DisconnectProviderUltimatum(_) => ActiveInput::Disconnect,
        McsMessage::SendDataRequest(request) => {
            let Ok(header) = decode::<ShareControlHeader>(request.user_data.as_ref()) else {
                return ActiveInput::Ignored;
            };
            match header.share_control_pdu {
                ShareControlPdu::Data(data) => match data.share_data_pdu {
                    ShareDataPdu::RefreshRectangle(_) => ActiveInput::RefreshRect,
                    ShareDataPdu::ShutdownRequest => ActiveInput::Disconnect,
                    _ => ActiveInput::Ignored,
                },
                _ => ActiveInput::Ignored,
            }
        }
        _ => ActiveInput::Ignored,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn licensing_pdu_round_trips_through_the_envelope() {
        let valid_client = [0xff, 0x03, 0x10, 0x00, 7, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0];
        let frame = wrap_licensing_pdu(&valid_client).unwrap();
        // TPKT version 3, total length in big endian.
        assert_eq!(frame[0], 3);
        assert_eq!(usize::from(u16::from_be_bytes([frame[2], frame[3]])), frame.len());
        // The payload ends with the security header and the PDU.
        assert!(frame.ends_with(&valid_client));
        let tail = &frame[frame.len() - valid_client.len() - 4..frame.len() - valid_client.len()];
        assert_eq!(tail, &[0x80, 0, 0, 0]);
    }

    #[test]
    fn set_error_info_carries_the_code() {
        let frame = set_error_info(0x101).unwrap();
        assert!(frame.ends_with(&[0x01, 0x01, 0, 0]));
        assert_eq!(classify_active_pdu(&frame), ActiveInput::Ignored);
    }

    #[test]
    fn garbage_is_ignored_not_fatal() {
        assert_eq!(classify_active_pdu(&[]), ActiveInput::Ignored);
        assert_eq!(classify_active_pdu(&[3, 0, 0, 4]), ActiveInput::Ignored);
        assert!(unwrap_licensing_pdu(&[3, 0, 0, 7, 2, 0xf0, 0x80]).is_err());
        assert!(matches!(
            unwrap_licensing_pdu(&disconnect_provider_ultimatum().unwrap()),
            Err(WireError::ClientDisconnected)
        ));
    }
}
