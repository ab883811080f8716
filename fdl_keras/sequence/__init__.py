"""Chapter 9: POS tagger, dependency parser, LSTM sentiment, seq2seq with attention, Transformer."""
