// Package providers groups the identity-provider clients: providers/okta and
// providers/onelogin, each a thin net/http client (auth, pagination, rate
// limiting, retries) with an adapter to the engine's Provider interface and a
// faithful simulator of its API in a test sub-package. The two never import
// each other.
//
// The provider packages land with their own issues; this package holds no
// code.
package providers
