//! Translations between the Responses API and chat completions (filled in below).
