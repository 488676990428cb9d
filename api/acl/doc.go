// Package acl decides what an authenticated principal may do, from an
// ACL file in the spirit of Mesos's ACLs: for each action, rules checked
// in order, each naming principals and the objects they may act on; the
// first rule that matches decides, and when none does, "permissive"
// (false unless set) does — so once ACLs are configured, what they do not
// grant is denied. It is pure: master and agent hand it a principal, an
// action and an object, and answer 403 with the error it returns.
package acl
