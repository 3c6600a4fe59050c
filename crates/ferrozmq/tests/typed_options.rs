//! The typed option setters and getters (the `zmq` crate's style) reach the
//! same options as the by-name form, with libzmq's validation.

use ferrozmq::{Context, Error, SocketType};

#[test]
fn typed_setters_round_trip_and_match_the_by_name_form() {
    let ctx = Context::new();
    let router = ctx.socket(SocketType::Router).unwrap();
    // Write-only flags, as in libzmq: set, and reading them is EINVAL.
    router.set_router_mandatory(true).unwrap();
    assert_eq!(router.get_option("router_mandatory").unwrap_err(), Error::EINVAL);
    router.set_router_handover(true).unwrap();
    router.set_probe_router(true).unwrap();
    router.set_connect_routing_id(b"peer-1").unwrap();
    // ROUTER_MANDATORY really is on: an unknown peer is unreachable.
    assert_eq!(router.send("nobody", ferrozmq::SNDMORE).unwrap_err(), Error::EHOSTUNREACH);

    let req = ctx.socket(SocketType::Req).unwrap();
    req.set_req_correlate(true).unwrap();
    req.set_req_relaxed(true).unwrap();

    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_conflate(true).unwrap();
    assert!(pull.is_conflate().unwrap());
    for (set, get, v) in [
        (ferrozmq::Socket::set_backlog as fn(&ferrozmq::Socket, i32) -> ferrozmq::Result<()>, ferrozmq::Socket::get_backlog as fn(&ferrozmq::Socket) -> ferrozmq::Result<i32>, 7),
        (ferrozmq::Socket::set_sndbuf, ferrozmq::Socket::get_sndbuf, 65536),
        (ferrozmq::Socket::set_rcvbuf, ferrozmq::Socket::get_rcvbuf, 65536),
        (ferrozmq::Socket::set_tcp_keepalive, ferrozmq::Socket::get_tcp_keepalive, 1),
        (ferrozmq::Socket::set_tcp_keepalive_cnt, ferrozmq::Socket::get_tcp_keepalive_cnt, 3),
        (ferrozmq::Socket::set_tcp_keepalive_idle, ferrozmq::Socket::get_tcp_keepalive_idle, 60),
        (ferrozmq::Socket::set_tcp_keepalive_intvl, ferrozmq::Socket::get_tcp_keepalive_intvl, 5),
        (ferrozmq::Socket::set_tos, ferrozmq::Socket::get_tos, 0x10),
        (ferrozmq::Socket::set_handshake_ivl, ferrozmq::Socket::get_handshake_ivl, 1234),
        (ferrozmq::Socket::set_heartbeat_ivl, ferrozmq::Socket::get_heartbeat_ivl, 100),
        (ferrozmq::Socket::set_heartbeat_ttl, ferrozmq::Socket::get_heartbeat_ttl, 2000),
        (ferrozmq::Socket::set_heartbeat_timeout, ferrozmq::Socket::get_heartbeat_timeout, 300),
    ] {
        set(&pull, v).unwrap();
        assert_eq!(get(&pull).unwrap(), v);
    }
    pull.set_rcvtimeo(250).unwrap();
    assert_eq!(pull.get_rcvtimeo().unwrap(), 250);
    assert_eq!(pull.get_sndtimeo().unwrap(), -1);
    assert_eq!(pull.get_reconnect_ivl().unwrap(), 100, "libzmq's default");
    assert!(!pull.is_immediate().unwrap());
    assert!(!pull.is_ipv6().unwrap());

    let xpub = ctx.socket(SocketType::XPub).unwrap();
    xpub.set_xpub_nodrop(true).unwrap();
    xpub.set_xpub_verboser(true).unwrap();
    xpub.set_xpub_welcome_msg(b"welcome").unwrap();

    let stream = ctx.socket(SocketType::Stream).unwrap();
    stream.set_stream_notify(false).unwrap();
    assert_eq!(stream.get_option("stream_notify").unwrap_err(), Error::EINVAL, "write-only");
    assert_eq!(xpub.set_stream_notify(false).unwrap_err(), Error::EINVAL, "STREAM only");

    let plain = ctx.socket(SocketType::Push).unwrap();
    plain.set_plain_username("admin").unwrap();
    plain.set_plain_password("secret").unwrap();
    assert_eq!(plain.get_plain_username().unwrap(), "admin");
    assert_eq!(plain.get_plain_password().unwrap(), "secret");
    plain.set_zap_domain("global").unwrap();
    assert_eq!(plain.get_zap_domain().unwrap(), "global");
    plain.set_plain_server(true).unwrap();
    assert!(plain.is_plain_server().unwrap());

    let curve = ctx.socket(SocketType::Dealer).unwrap();
    let keys = ferrozmq::curve::KeyPair::generate();
    curve.set_curve_serverkey(&keys.public).unwrap();
    curve.set_curve_publickey(ferrozmq::z85::encode(&keys.public).unwrap().as_bytes()).unwrap();
    curve.set_curve_secretkey(keys.secret()).unwrap();
    assert_eq!(curve.set_curve_publickey(b"too short").unwrap_err(), Error::EINVAL);
    curve.set_curve_server(true).unwrap();
    assert!(curve.is_curve_server().unwrap());
}
