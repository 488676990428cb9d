package main

import (
	"fmt"
	"net"
)

// checkExposure refuses to serve on anything but loopback without
// authentication unless the operator said --insecure: exposed,
// unauthenticated control planes (Mesos, Nomad, Kubernetes dashboards)
// were the real breaches.
func checkExposure(host string, insecure, authenticated bool) error {
	if insecure || authenticated || isLoopback(host) {
		return nil
	}
	return fmt.Errorf("refusing to listen on %s without authentication: use a loopback address, or --insecure to expose an unauthenticated API", host)
}

// isLoopback reports whether host names only loopback addresses.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
