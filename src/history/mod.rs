//! Run history: an SQLite database of every local run and cloud build cbdash has seen.
