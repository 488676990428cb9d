package registry

import (
	"io"
	"net"
	"testing"
)

// TestPeekedConn checks that the byte read to sort a connection comes back
// first, once, whatever the sizes of the reads that follow.
func TestPeekedConn(t *testing.T) {
	for _, size := range []int{1, 2, 5, 64} {
		client, server := net.Pipe()
		go func() {
			_, _ = client.Write([]byte("GET / HTTP/1.1\r\n"))
			client.Close()
		}()
		var first [1]byte
		if _, err := io.ReadFull(server, first[:]); err != nil {
			t.Fatal(err)
		}
		c := &peekedConn{Conn: server, first: first[0], pending: true}
		if n, err := c.Read(nil); n != 0 || err != nil {
			t.Fatalf("an empty read gave %d, %v", n, err)
		}
		var got []byte
		buf := make([]byte, size)
		for {
			n, err := c.Read(buf)
			got = append(got, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if string(got) != "GET / HTTP/1.1\r\n" {
			t.Errorf("reads of %d: %q", size, got)
		}
	}
}
