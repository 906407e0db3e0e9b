package dev.lockstep.protocol;

/** Every error the API returns: a short code-like {@code error} and a {@code detail} that says what to do. */
public record ErrorBody(String error, String detail) {}
