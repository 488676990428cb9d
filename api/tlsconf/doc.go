// Package tlsconf turns PEM certificates, keys and CAs into the
// crypto/tls configurations Mezzo's daemons and clients use, so that
// masters, agents, executors, the CLI and the SDK agree on one policy:
// TLS 1.2 at least, servers verify a client certificate when one is
// presented (and raft requires one), clients verify servers against the
// cluster's CA or else the system pool.
//
// It does no I/O: callers read the files and hand over bytes, as with
// api/auth. A daemon loads its identity once at startup:
//
//	id, err := tlsconf.Parse(certPEM, keyPEM, caPEM)
//	if err == nil {
//		err = id.CheckDaemon("master.example.com")
//	}
//	srv := id.Server()  // for the listener
//	cli := id.Client()  // for its calls to peers and agents
//
// Raft between masters shares the masters' HTTPS port; the two are told
// apart in the TLS handshake by ALPN: a raft connection offers only
// RaftProtocol (see RATIONALE.md, "Why is raft told from HTTPS by ALPN?").
//
// An Identity and the configurations it returns are safe for concurrent
// use; callers must not modify a returned *tls.Config that they share.
package tlsconf
