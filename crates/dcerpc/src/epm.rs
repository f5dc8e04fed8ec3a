//! The endpoint mapper ([C706 Appendix O] interface `ept` v3.0, [MS-RPCE 2.2.1.2.5] and 3.1.1.5.4): `ept_map`,
//! opnum 3, which answers "on which endpoint does this interface listen?", and the protocol towers ([C706
//! Appendix L]) of its question and answer.
//!
//! ```text
//! void ept_map([in] handle_t h, [in, ptr] uuid_p_t object, [in, ptr] twr_p_t map_tower,
//!              [in, out] ept_lookup_handle_t *entry_handle, [in] unsigned32 max_towers,
//!              [out] unsigned32 *num_towers,
//!              [out, ptr, size_is(max_towers), length_is(*num_towers)] twr_p_t *towers,
//!              [out] error_status_t *status);
//! ```
//!
//! Both directions are here: the client encodes [`EptMapRequest`] and decodes [`EptMapResponse`]; a test
//! endpoint mapper decodes the request and encodes the response.

use std::net::Ipv4Addr;

use crate::error::{DecodeError, EncodeError};
use crate::syntax::{SyntaxId, Uuid};
use crate::wire::{len_u16, len_u32, Reader, Writer};

/// `ept_map`'s operation number.
pub const EPT_MAP_OPNUM: u16 = 3;

/// The endpoint mapper's well-known TCP port ([MS-RPCE 2.1.1.1]).
pub const EPM_TCP_PORT: u16 = 135;

code_newtype! {
    /// [C706 Appendix I] and [MS-RPCE 2.2.1.2.5] `error_status_t` values of the endpoint mapper.
    EptStatus(u32) {
        /// Success
        OK = 0,
        /// `EPT_S_NOT_REGISTERED` (`ept_s_not_registered`): no element matches the query — the interface is not
        /// registered (for this protocol) with this endpoint mapper. Also what Windows answers at the end of a
        /// lookup.
        EPT_S_NOT_REGISTERED = 0x16c9_a0d6,
        /// `ept_s_cant_perform_op`
        EPT_S_CANT_PERFORM_OP = 0x16c9_a0cd,
        /// `ept_s_invalid_entry`
        EPT_S_INVALID_ENTRY = 0x16c9_a0cc,
    }
}

code_newtype! {
    /// [C706 Appendix I] Protocol identifiers of tower floors (the first byte of a floor's left-hand side), with
    /// the [MS-RPCE 2.2.1.1.7] ones Windows uses.
    ProtocolId(u8) {
        /// TCP/IP port (right-hand side: the port, big-endian)
        TCP = 0x07,
        /// UDP port
        UDP = 0x08,
        /// IPv4 address (right-hand side: 4 bytes)
        IP = 0x09,
        /// RPC connectionless protocol
        NCADG = 0x0a,
        /// RPC connection-oriented protocol (right-hand side: minor version)
        NCACN = 0x0b,
        /// Local RPC (ncalrpc)
        NCALRPC = 0x0c,
        /// UUID floor: interface or transfer syntax (left-hand side: UUID and major version)
        UUID = 0x0d,
        /// SMB named pipe (right-hand side: `\PIPE\name`)
        NAMED_PIPE = 0x0f,
        /// NetBIOS host name
        NETBIOS = 0x11,
        /// HTTP (ncacn_http)
        HTTP = 0x1f,
    }
}

/// [C706 Appendix L] One floor of a tower: left-hand side (protocol id and data) and right-hand side (related
/// data), both raw. Their lengths and the floor count are little-endian in every tower; ports and IP addresses
/// inside them are big-endian (network order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Floor {
    /// LHS: the protocol identifier byte, then protocol data
    pub lhs: Vec<u8>,
    /// RHS: related data
    pub rhs: Vec<u8>,
}

impl Floor {
    /// The protocol identifier (first LHS byte).
    pub fn protocol(&self) -> Option<ProtocolId> {
        self.lhs.first().copied().map(ProtocolId)
    }

    /// A UUID floor for `syntax` (LHS: 0x0d, UUID, major version; RHS: minor version).
    pub fn uuid(syntax: SyntaxId) -> Self {
        let mut lhs = vec![ProtocolId::UUID.0];
        lhs.extend_from_slice(&syntax.uuid.to_le_bytes());
        lhs.extend_from_slice(&syntax.major.to_le_bytes());
        Self { lhs, rhs: syntax.minor.to_le_bytes().to_vec() }
    }

    /// The syntax of a UUID floor.
    pub fn as_syntax(&self) -> Option<SyntaxId> {
        if self.protocol() != Some(ProtocolId::UUID) || self.lhs.len() != 19 || self.rhs.len() != 2 {
            return None;
        }
        let mut r = Reader::at(&self.lhs, 1, true);
        let uuid = Uuid::read(&mut r).ok()?;
        let major = r.u16("major").ok()?;
        let minor = Reader::new(&self.rhs, true).u16("minor").ok()?;
        Some(SyntaxId { uuid, major, minor })
    }

    fn simple(protocol: ProtocolId, rhs: &[u8]) -> Self {
        Self { lhs: vec![protocol.0], rhs: rhs.to_vec() }
    }
}

/// [C706 Appendix L] A protocol tower: the floors from the interface down to the network address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tower {
    /// Floors, top (interface) first
    pub floors: Vec<Floor>,
}

/// What a ncacn_ip_tcp tower says, floor by floor (each `None` when that floor is absent or of another kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TowerSummary {
    /// Floor 1: the interface
    pub interface: Option<SyntaxId>,
    /// Floor 2: the transfer syntax
    pub transfer_syntax: Option<SyntaxId>,
    /// Floor 3: the RPC protocol (0x0b: connection-oriented)
    pub rpc_protocol: Option<ProtocolId>,
    /// Floor 4: the transport (0x07: TCP)
    pub transport: Option<ProtocolId>,
    /// Floor 4: the TCP (or UDP) port
    pub port: Option<u16>,
    /// Floor 5: the IPv4 address
    pub ip: Option<Ipv4Addr>,
}

impl Tower {
    /// The five-floor tower of `interface` over ncacn_ip_tcp with NDR: interface, NDR v2, RPC connection-oriented
    /// v5 (minor 0), TCP `port`, IP `ip`. With port 0 and 0.0.0.0 it is an `ept_map` query, as Windows' and
    /// impacket's clients send it.
    pub fn ncacn_ip_tcp(interface: SyntaxId, port: u16, ip: Ipv4Addr) -> Self {
        Self {
            floors: vec![
                Floor::uuid(interface),
                Floor::uuid(SyntaxId::NDR_V2),
                Floor::simple(ProtocolId::NCACN, &0u16.to_le_bytes()),
                Floor::simple(ProtocolId::TCP, &port.to_be_bytes()),
                Floor::simple(ProtocolId::IP, &ip.octets()),
            ],
        }
    }

    /// Decodes a tower octet string (`twr_t.tower_octet_string`); bytes after the last floor are refused.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, true);
        let count = r.u16("floor count")?;
        let mut floors = Vec::new();
        for _ in 0..count {
            let lhs_len = r.u16("floor lhs length")?;
            let lhs = r.take(usize::from(lhs_len), "floor lhs")?.to_vec();
            let rhs_len = r.u16("floor rhs length")?;
            let rhs = r.take(usize::from(rhs_len), "floor rhs")?.to_vec();
            floors.push(Floor { lhs, rhs });
        }
        if r.remaining() > 0 {
            return Err(DecodeError::Invalid {
                what: "tower",
                reason: format!("{} bytes after floor {count}", r.remaining()),
            });
        }
        Ok(Self { floors })
    }

    /// Encodes the tower octet string.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut w = Writer::default();
        w.u16(len_u16("tower floors", self.floors.len())?);
        for floor in &self.floors {
            w.u16(len_u16("floor lhs", floor.lhs.len())?);
            w.bytes(&floor.lhs);
            w.u16(len_u16("floor rhs", floor.rhs.len())?);
            w.bytes(&floor.rhs);
        }
        Ok(w.buf)
    }

    /// The floors read as a TCP/IP tower.
    pub fn summary(&self) -> TowerSummary {
        let floor = |i: usize| self.floors.get(i);
        let transport = floor(3).and_then(Floor::protocol);
        let port = floor(3)
            .filter(|f| matches!(f.protocol(), Some(ProtocolId::TCP | ProtocolId::UDP)))
            .and_then(|f| <[u8; 2]>::try_from(f.rhs.as_slice()).ok())
            .map(u16::from_be_bytes);
        let ip = floor(4)
            .filter(|f| f.protocol() == Some(ProtocolId::IP))
            .and_then(|f| <[u8; 4]>::try_from(f.rhs.as_slice()).ok())
            .map(Ipv4Addr::from);
        TowerSummary {
            interface: floor(0).and_then(Floor::as_syntax),
            transfer_syntax: floor(1).and_then(Floor::as_syntax),
            rpc_protocol: floor(2).and_then(Floor::protocol),
            transport,
            port,
            ip,
        }
    }
}

/// [C706 Appendix O] `ept_lookup_handle_t`: a context handle (`context_handle_attributes` and a UUID), all zero
/// for a new lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ContextHandle(pub [u8; 20]);

/// The `[in]` parameters of `ept_map`: the request's NDR stub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EptMapRequest {
    /// `object`: `None` is a NULL pointer
    pub object: Option<Uuid>,
    /// `map_tower`: the query; `None` is a NULL pointer
    pub map_tower: Option<Tower>,
    /// `entry_handle`
    pub entry_handle: ContextHandle,
    /// `max_towers`
    pub max_towers: u32,
}

/// Referent ids the client uses for `object` and `map_tower`. Windows Server 2003 refuses other values with
/// rpc_x_bad_stub_data (as impacket notes), so every client uses 1 and 2.
const OBJECT_REFERENT: u32 = 1;
const TOWER_REFERENT: u32 = 2;

impl EptMapRequest {
    /// The query for `interface` over ncacn_ip_tcp, as Windows and impacket send it: a nil object UUID, the
    /// tower with port 0 and address 0.0.0.0, a new lookup, up to 4 towers.
    pub fn ncacn_ip_tcp(interface: SyntaxId) -> Self {
        Self {
            object: Some(Uuid::NIL),
            map_tower: Some(Tower::ncacn_ip_tcp(interface, 0, Ipv4Addr::UNSPECIFIED)),
            entry_handle: ContextHandle::default(),
            max_towers: 4,
        }
    }

    /// Encodes the NDR stub (little-endian).
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut w = Writer::default();
        match self.object {
            Some(object) => {
                w.u32(OBJECT_REFERENT);
                object.write(&mut w);
            }
            None => w.u32(0),
        }
        match &self.map_tower {
            Some(tower) => {
                w.u32(TOWER_REFERENT);
                write_twr(&mut w, &tower.encode()?)?;
            }
            None => w.u32(0),
        }
        w.align(4);
        w.bytes(&self.entry_handle.0);
        w.u32(self.max_towers);
        Ok(w.buf)
    }

    /// Decodes the NDR stub of a request (`little`: the PDU's data representation).
    pub fn decode(stub: &[u8], little: bool) -> Result<Self, DecodeError> {
        let mut r = Reader::new(stub, little);
        let object = if r.u32("object referent")? != 0 { Some(Uuid::read(&mut r)?) } else { None };
        let map_tower = if r.u32("map_tower referent")? != 0 { Some(Tower::decode(read_twr(&mut r)?)?) } else { None };
        r.align(4, "entry_handle alignment")?;
        let entry_handle = ContextHandle(r.array::<20>("entry_handle")?);
        let max_towers = r.u32("max_towers")?;
        Ok(Self { object, map_tower, entry_handle, max_towers })
    }
}

/// The `[out]` parameters of `ept_map`: the response's NDR stub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EptMapResponse {
    /// `entry_handle` (all zero when the lookup is over)
    pub entry_handle: ContextHandle,
    /// `towers[0..num_towers]`, NULL pointers left out
    pub towers: Vec<Tower>,
    /// `max_towers`, echoed as the array's maximum count
    pub max_towers: u32,
    /// `status`
    pub status: EptStatus,
}

impl EptMapResponse {
    /// Encodes the NDR stub (little-endian), towers with referent ids 3, 4, ... as Windows numbers them.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let count = len_u32("towers", self.towers.len())?;
        let mut w = Writer::default();
        w.bytes(&self.entry_handle.0);
        w.u32(count);
        // Conformant varying array of pointers: maximum count, offset, actual count, then the pointers.
        w.u32(self.max_towers.max(count));
        w.u32(0);
        w.u32(count);
        for i in 0..count {
            w.u32(i.saturating_add(3));
        }
        // The referents, deferred after the array.
        for tower in &self.towers {
            write_twr(&mut w, &tower.encode()?)?;
            w.align(4);
        }
        w.u32(self.status.0);
        Ok(w.buf)
    }

    /// Decodes the NDR stub of a response (`little`: the PDU's data representation).
    pub fn decode(stub: &[u8], little: bool) -> Result<Self, DecodeError> {
        let mut r = Reader::new(stub, little);
        let entry_handle = ContextHandle(r.array::<20>("entry_handle")?);
        let num_towers = r.u32("num_towers")?;
        let max_count = r.u32("towers max count")?;
        let offset = r.u32("towers offset")?;
        let actual = r.u32("towers actual count")?;
        if offset != 0 || actual > max_count || actual != num_towers {
            return Err(DecodeError::Invalid {
                what: "towers array",
                reason: format!("num_towers {num_towers}, max {max_count}, offset {offset}, actual {actual}"),
            });
        }
        // Each pointer takes 4 bytes: more pointers than bytes left is a lie, refused before allocating.
        let actual = usize::try_from(actual).unwrap_or(usize::MAX);
        if actual > r.remaining() / 4 {
            return Err(DecodeError::Truncated {
                what: "tower pointers",
                offset: r.pos(),
                needed: actual.saturating_mul(4),
                available: r.remaining(),
            });
        }
        let mut present = Vec::with_capacity(actual);
        for _ in 0..actual {
            present.push(r.u32("tower referent")? != 0);
        }
        let mut towers = Vec::new();
        for _ in present.iter().filter(|p| **p) {
            towers.push(Tower::decode(read_twr(&mut r)?)?);
            r.align(4, "tower padding")?;
        }
        let status = EptStatus(r.u32("status")?);
        if r.remaining() > 0 {
            return Err(DecodeError::Invalid {
                what: "ept_map response",
                reason: format!("{} bytes after the status", r.remaining()),
            });
        }
        Ok(Self { entry_handle, towers, max_towers: max_count, status })
    }
}

/// `twr_t` (conformant structure): maximum count, `tower_length`, the octets.
fn write_twr(w: &mut Writer, octets: &[u8]) -> Result<(), EncodeError> {
    let len = len_u32("tower", octets.len())?;
    w.u32(len);
    w.u32(len);
    w.bytes(octets);
    Ok(())
}

fn read_twr<'a>(r: &mut Reader<'a>) -> Result<&'a [u8], DecodeError> {
    let max_count = r.u32("tower max count")?;
    let length = r.u32("tower_length")?;
    if max_count != length {
        return Err(DecodeError::Invalid {
            what: "twr_t",
            reason: format!("conformance {max_count} differs from tower_length {length}"),
        });
    }
    r.take(usize::try_from(length).unwrap_or(usize::MAX), "tower_octet_string")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn request_and_response_round_trip() {
        let request = EptMapRequest::ncacn_ip_tcp(SyntaxId::TS_LICENSING_V1);
        assert_eq!(EptMapRequest::decode(&request.encode().unwrap(), true).unwrap(), request);
        let without = EptMapRequest { object: None, map_tower: None, ..request };
        assert_eq!(EptMapRequest::decode(&without.encode().unwrap(), true).unwrap(), without);

        let tower = Tower::ncacn_ip_tcp(SyntaxId::TS_LICENSING_V1, 49_670, Ipv4Addr::new(10, 0, 0, 5));
        let response = EptMapResponse {
            entry_handle: ContextHandle::default(),
            towers: vec![tower.clone(), tower],
            max_towers: 4,
            status: EptStatus::OK,
        };
        let decoded = EptMapResponse::decode(&response.encode().unwrap(), true).unwrap();
        assert_eq!(decoded, response);
        let summary = decoded.towers[0].summary();
        assert_eq!(summary.interface, Some(SyntaxId::TS_LICENSING_V1));
        assert_eq!(summary.transfer_syntax, Some(SyntaxId::NDR_V2));
        assert_eq!(summary.rpc_protocol, Some(ProtocolId::NCACN));
        assert_eq!(summary.transport, Some(ProtocolId::TCP));
        assert_eq!(summary.port, Some(49_670));
        assert_eq!(summary.ip, Some(Ipv4Addr::new(10, 0, 0, 5)));
    }

    #[test]
    fn a_huge_tower_count_is_refused_without_allocating() {
        let mut stub = vec![0u8; 20]; // entry_handle
        for v in [u32::MAX, u32::MAX, 0, u32::MAX] {
            // num_towers, maximum count, offset, actual count
            stub.extend_from_slice(&v.to_le_bytes());
        }
        assert!(matches!(EptMapResponse::decode(&stub, true), Err(DecodeError::Truncated { .. })));
    }
}
