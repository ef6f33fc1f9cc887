"""artgan: train a GAN on your own small corpus, then make series, loops and signed print editions."""

__version__ = "0.1.0"
