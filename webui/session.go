package webui

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// sessionCookie is the name of the cookie that carries a session's token.
const sessionCookie = "mezzo_session"

// session is one browser's login: who it is, the token its forms must
// carry (CSRF), and when it ends.
type session struct {
	key       [sha256.Size]byte // digest of the cookie's token
	csrf      string
	principal Principal
	expires   time.Time
}

// sessions are kept in the serving master's memory only (RATIONALE.md,
// "Why do console sessions live in one master's memory?"). They are
// looked up by the SHA-256 of the cookie's token, so that neither a map
// lookup's timing nor a dump of the table gives a usable token away.
type sessions struct {
	ttl time.Duration
	max int

	mu   sync.Mutex
	byID map[[sha256.Size]byte]*session
}

func newSessions(ttl time.Duration, max int) *sessions {
	return &sessions{ttl: ttl, max: max, byID: map[[sha256.Size]byte]*session{}}
}

// randomToken returns 32 random bytes in URL-safe base64.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // crypto/rand.Read never fails (it crashes the program instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for p and returns it with the token for its
// cookie. A full table first forgets expired sessions, then the one that
// would expire first, so memory stays bounded however many are started.
func (s *sessions) create(p Principal, now time.Time) (*session, string) {
	token := randomToken()
	sess := &session{key: sha256.Sum256([]byte(token)), csrf: randomToken(), principal: p, expires: now.Add(s.ttl)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.byID) >= s.max {
		var oldest *session
		for k, v := range s.byID {
			if !now.Before(v.expires) {
				delete(s.byID, k)
			} else if oldest == nil || v.expires.Before(oldest.expires) {
				oldest = v
			}
		}
		if len(s.byID) >= s.max && oldest != nil {
			delete(s.byID, oldest.key)
		}
	}
	s.byID[sess.key] = sess
	return sess, token
}

// get returns the live session of a cookie's token, nil if there is none.
func (s *sessions) get(token string, now time.Time) *session {
	if token == "" {
		return nil
	}
	key := sha256.Sum256([]byte(token))
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.byID[key]
	if sess == nil {
		return nil
	}
	if !now.Before(sess.expires) {
		delete(s.byID, key)
		return nil
	}
	return sess
}

// end forgets a session (logout).
func (s *sessions) end(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, sess.key)
}

// count returns the number of sessions held, expired ones included.
func (s *sessions) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID)
}

// checkCSRF reports whether token is the session's CSRF token, comparing
// in constant time.
func (sess *session) checkCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(sess.csrf)) == 1
}

// sessionOf returns the request's live session, nil if it has none.
func (c *Console) sessionOf(r *http.Request) *session {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	return c.sessions.get(ck.Value, time.Now())
}

// startSession creates a session for p and sets its cookie: HttpOnly (no
// script reads it), SameSite=Strict (no other site's page sends it),
// Secure when the console is served over TLS, and expiring with the
// session.
func (c *Console) startSession(w http.ResponseWriter, r *http.Request, p Principal) *session {
	sess, token := c.sessions.create(p, time.Now())
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: token, Path: "/",
		Expires: sess.expires, MaxAge: int(c.cfg.SessionTTL / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	return sess
}

// clearSession tells the browser to drop its session cookie.
func clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
}
