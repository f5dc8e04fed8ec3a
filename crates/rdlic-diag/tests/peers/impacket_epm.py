#!/usr/bin/env python3
"""impacket as the independent DCE/RPC peer of `rdlic probe --license-server` (crates/rdlic-diag/tests/rpc.rs).

serve: start, on 127.0.0.1, one endpoint mapper per scenario (impacket's DCERPCServer, ept_map answered with
       impacket's own NDR structures) and the listeners they point to; print {"scenario": epm_port, ...} as one JSON
       line; run until stdin closes.
         registered    the licensing interface on a DCERPCServer that accepts binds to it
         closed        the licensing interface "registered" on a port where nothing listens
         filtered      ... on a port whose listener never accepts (backlog full: SYNs are dropped)
         bind-nak      ... on a listener that answers every bind with a bind_nak (reason 4)
         rejected      ... on a DCERPCServer that serves another interface (bind_ack, context rejected)
         unregistered  the endpoint mapper knows nothing: 0 towers, EPT_S_NOT_REGISTERED
query HOST PORT UUID VERSION: impacket's epm.hept_map against the endpoint mapper on HOST:PORT; prints
       {"binding": "ncacn_ip_tcp:HOST[port]"} or {"error": "..."}.
"""
import json
import socket
import sys
import threading

from impacket.dcerpc.v5 import epm, transport
from impacket.dcerpc.v5.rpcrt import (DCERPCServer, MSRPCHeader, MSRPCBindNak, MSRPC_BINDNAK, PFC_FIRST_FRAG,
                                      PFC_LAST_FRAG)
from impacket.uuid import uuidtup_to_bin

LICENSING = ('3d267954-eeb7-11d1-b94e-00c04fa3080d', '1.0')
EPM = ('e1af8308-5d1f-11c9-91a4-08002b14a0fa', '3.0')
NDR = ('8a885d04-1ceb-11c9-9fe8-08002b104860', '2.0')
EPT_S_NOT_REGISTERED = 0x16c9a0d6


def tower_bytes(iface, port):
    """The ncacn_ip_tcp tower as impacket builds it (floors: interface, NDR, RPC v5, TCP port, IP)."""
    interface = epm.EPMRPCInterface()
    interface['InterfaceUUID'] = uuidtup_to_bin(iface)[:16]
    interface['MajorVersion'], interface['MinorVersion'] = (int(x) for x in iface[1].split('.'))
    data_rep = epm.EPMRPCDataRepresentation()
    data_rep['DataRepUuid'] = uuidtup_to_bin(NDR)[:16]
    data_rep['MajorVersion'], data_rep['MinorVersion'] = 2, 0
    prot = epm.EPMProtocolIdentifier()
    prot['ProtIdentifier'] = epm.FLOOR_RPCV5_IDENTIFIER
    port_addr = epm.EPMPortAddr()
    port_addr['IpPort'] = port
    host_addr = epm.EPMHostAddr()
    host_addr['Ip4addr'] = socket.inet_aton('127.0.0.1')
    tower = epm.EPMTower()
    tower['NumberOfFloors'] = 5
    tower['Floors'] = (interface.getData() + data_rep.getData() + prot.getData() + port_addr.getData()
                       + host_addr.getData())
    return tower.getData()


def endpoint_mapper(port):
    """An endpoint mapper whose ept_map knows the licensing interface on `port` (None: knows nothing)."""
    server = DCERPCServer()

    def ept_map(data):
        request = epm.ept_map(data)
        asked = epm.EPMTower(b''.join(request['map_tower']['tower_octet_string']))
        asked_uuid = asked['Floors'][0]['InterfaceUUID']
        response = epm.ept_mapResponse()
        response['entry_handle'] = request['entry_handle']
        if port is not None and asked_uuid == uuidtup_to_bin(LICENSING)[:16]:
            octets = tower_bytes(LICENSING, port)
            item = epm.twr_p_t()
            item['tower_length'] = len(octets)
            item['tower_octet_string'] = octets
            response['num_towers'] = 1
            response['ITowers'].append(item)
            response['status'] = 0
        else:
            response['num_towers'] = 0
            response['status'] = EPT_S_NOT_REGISTERED
        return response.getData()

    server.addCallbacks(EPM, '135', {3: ept_map})
    server.daemon = True
    server.start()
    return server.getListenPort()


def dcerpc_server(iface):
    server = DCERPCServer()
    server.addCallbacks(iface, '', {})
    server.daemon = True
    server.start()
    return server.getListenPort()


class BindNakServer(DCERPCServer):
    """Answers every bind with a bind_nak, reason 4 (protocol version not supported), versions 5.0."""

    def bind(self, packet, bind):
        nak = MSRPCBindNak()
        nak['RejectedReason'] = 4
        nak['SupportedVersions'] = b'\x01\x05\x00'
        header = MSRPCHeader()
        header['type'] = MSRPC_BINDNAK
        header['flags'] = PFC_FIRST_FRAG | PFC_LAST_FRAG
        header['call_id'] = packet['call_id']
        header['pduData'] = nak.getData()
        self._clientSock.send(header.get_packet())
        return None


def serve():
    held = []
    closed = socket.socket()
    closed.bind(('127.0.0.1', 0))
    closed_port = closed.getsockname()[1]
    closed.close()

    # A listener that never accepts, its queue filled: further SYNs are dropped, connects time out.
    blackhole = socket.socket()
    blackhole.bind(('127.0.0.1', 0))
    blackhole.listen(0)
    blackhole_port = blackhole.getsockname()[1]
    held.append(blackhole)
    for _ in range(2):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(('127.0.0.1', blackhole_port))
        held.append(filler)

    naks = BindNakServer()
    naks.addCallbacks(LICENSING, '', {})
    naks.daemon = True
    naks.start()

    ports = {
        'registered': endpoint_mapper(dcerpc_server(LICENSING)),
        'closed': endpoint_mapper(closed_port),
        'filtered': endpoint_mapper(blackhole_port),
        'bind-nak': endpoint_mapper(naks.getListenPort()),
        'rejected': endpoint_mapper(dcerpc_server(('12345778-1234-abcd-ef00-0123456789ab', '0.0'))),
        'unregistered': endpoint_mapper(None),
    }
    print(json.dumps(ports), flush=True)
    sys.stdin.read()


def query(host, port, uuid, version):
    try:
        rpctransport = transport.DCERPCTransportFactory('ncacn_ip_tcp:%s[%s]' % (host, port))
        dce = rpctransport.get_dce_rpc()
        dce.connect()
        binding = epm.hept_map(host, uuidtup_to_bin((uuid, version)), protocol='ncacn_ip_tcp', dce=dce)
        dce.disconnect()
        print(json.dumps({'binding': binding}))
    except Exception as error:  # the test reads the message
        print(json.dumps({'error': str(error)}))


if __name__ == '__main__':
    if sys.argv[1:2] == ['serve']:
        serve()
    elif sys.argv[1:2] == ['query'] and len(sys.argv) == 6:
        query(*sys.argv[2:6])
    else:
        sys.exit(__doc__)
