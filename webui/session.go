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
	ttl          time.Duration
	max          int
	perPrincipal int // for a named principal; the anonymous one has max

	mu     sync.Mutex
	byID   map[[sha256.Size]byte]*session
	byName map[string]int // number of sessions of each principal
}

func newSessions(ttl time.Duration, max, perPrincipal int) *sessions {
	return &sessions{ttl: ttl, max: max, perPrincipal: perPrincipal, byID: map[[sha256.Size]byte]*session{}, byName: map[string]int{}}
}

// randomToken returns 32 random bytes in URL-safe base64.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // crypto/rand.Read never fails (it crashes the program instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for p and returns it with the token for its
// cookie. A principal at its cap (perPrincipal) first loses its own
// oldest session; a full table first forgets expired sessions, then the
// oldest session of the principal holding the most. So memory stays
// bounded however many are started, and one principal logging in again
// and again pushes out only its own sessions.
func (s *sessions) create(p Principal, now time.Time) (*session, string) {
	token := randomToken()
	sess := &session{key: sha256.Sum256([]byte(token)), csrf: randomToken(), principal: p, expires: now.Add(s.ttl)}
	name := p.Name()
	limit := s.perPrincipal
	if name == "" {
		limit = s.max
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byName[name] >= limit || len(s.byID) >= s.max {
		for _, v := range s.byID {
			if !now.Before(v.expires) {
				s.drop(v)
			}
		}
	}
	if s.byName[name] >= limit {
		s.drop(s.oldest(name))
	}
	if len(s.byID) >= s.max {
		most := ""
		for n, c := range s.byName {
			if c > s.byName[most] || c == s.byName[most] && n < most {
				most = n
			}
		}
		s.drop(s.oldest(most))
	}
	s.byID[sess.key] = sess
	s.byName[name]++
	return sess, token
}

// oldest returns the session of the principal named name that expires
// first, nil if it has none. s.mu must be held.
func (s *sessions) oldest(name string) *session {
	var old *session
	for _, v := range s.byID {
		if v.principal.Name() == name && (old == nil || v.expires.Before(old.expires)) {
			old = v
		}
	}
	return old
}

// drop forgets a session, if any. s.mu must be held.
func (s *sessions) drop(sess *session) {
	if sess == nil {
		return
	}
	if _, ok := s.byID[sess.key]; !ok {
		return
	}
	delete(s.byID, sess.key)
	name := sess.principal.Name()
	if s.byName[name]--; s.byName[name] <= 0 {
		delete(s.byName, name)
	}
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
		s.drop(sess)
		return nil
	}
	return sess
}

// end forgets a session (logout).
func (s *sessions) end(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop(sess)
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
