"""botstore: a local emulator of a WeChat Official Account backend and its mini-programs."""
