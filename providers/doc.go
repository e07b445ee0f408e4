// Package providers groups the identity-provider clients: providers/okta and
// providers/onelogin, each a thin net/http client (auth, pagination, rate
// limiting, retries) with a faithful simulator of its API in a test
// sub-package, and providers/httpclient, what they share (the transport, the
// one APIError type, the pacer, streaming decoders). The two clients never
// import each other.
//
// Each client package describes itself: Kind, Spec (its options, secret,
// statuses and user record) and Driver (the Spec with the constructor). main
// lists the drivers; nothing else in the program names a provider. This
// package holds no code.
package providers
