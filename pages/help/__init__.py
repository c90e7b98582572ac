"""Help: about RevLens and its documentation."""
