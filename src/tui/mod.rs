//! The dashboard: an Elm-style core (`update(&mut State, Msg) -> Vec<Effect>`) inside a small
//! async shell. Never imports bollard or the AWS SDK: it sees builds only as `BuildEvent`s.
