// Package seal holds the token that seals the module's option interfaces.
//
// Every constructor of the module takes options of its own interface type
// (recovery.RetryOption, performance.CacheOption, ...), so an option that
// does not apply to a constructor does not compile. Each such interface has
// one method taking a Token. Programs outside the module cannot name Token,
// so they cannot implement the interfaces: every option value comes from
// the package that documents it, or is the shared telemetry option
// observability.Option, which implements them all.
package seal

// Token is the parameter type of the marker methods of the module's option
// interfaces. Its only use is to be unnameable outside the module.
type Token struct{}
