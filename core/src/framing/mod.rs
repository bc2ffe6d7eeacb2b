//! Incremental byte decoders for the wire framings providers stream in.
