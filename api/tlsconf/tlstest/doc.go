// Package tlstest mints certificate authorities and certificates inside
// tests, so that TLS is tested with real handshakes and no key material
// is checked in. Certificates use ECDSA P-256 and are valid for an hour
// around now unless an option says otherwise.
//
// A CA is safe for concurrent use.
package tlstest
