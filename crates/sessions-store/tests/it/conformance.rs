//! The conformance suite: generic over the backend.
