package coatcheck

// Bindings to the codec packages. (Filled in as those packages land.)

func newFlaskCookieCodec(cfg *Config) (cookieCodec, error) { return nil, errNotBound }

func bindServer(cfg *Config, si *serverInterface) error { return errNotBound }
