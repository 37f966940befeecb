import torch

from babeltag.encoders.char import CharacterFeatures, CharBiRNN, CharCNN, Highway
from babeltag.encoders.dropout import LockedDropout


def test_char_cnn_ignores_padding_characters() -> None:
    torch.manual_seed(0)
    cnn = CharCNN(num_chars=10, char_dim=4, widths=[2, 3], filters=[5, 6])
    assert cnn.output_dim == 11
    ids = torch.tensor([[3, 4, 5, 0, 0]])
    padded_differently = torch.tensor([[3, 4, 5, 7, 8]])  # same word, junk after its end
    lengths = torch.tensor([3])
    assert torch.allclose(cnn(ids, lengths), cnn(padded_differently, lengths))
    # the obvious version: convolve the unpadded word alone
    assert torch.allclose(cnn(ids, lengths), cnn(ids[:, :3], lengths), atol=1e-6)


def test_char_birnn_output_is_independent_of_padding() -> None:
    torch.manual_seed(0)
    for cell in ("lstm", "gru"):
        encoder = CharBiRNN(num_chars=10, char_dim=4, hidden_dim=3, layers=2, cell=cell)
        encoder.eval()
        short = encoder(torch.tensor([[3, 4]]), torch.tensor([2]))
        padded = encoder(torch.tensor([[3, 4, 0, 0], [5, 6, 7, 8]]), torch.tensor([2, 4]))
        assert torch.allclose(short[0], padded[0], atol=1e-6)


def test_character_features_place_word_vectors_at_positions() -> None:
    cnn = CharCNN(num_chars=10, char_dim=4, widths=[3], filters=5)
    features = CharacterFeatures(cnn, Highway(5, layers=2, activation="selu"))
    char_ids = torch.tensor([[0, 0], [3, 4], [5, 0]])
    lengths = torch.tensor([1, 2, 1])
    word_types = torch.tensor([[1, 2, 1], [2, 0, 0]])
    out = features(char_ids, lengths, word_types)
    assert out.shape == (2, 3, 5)
    assert torch.equal(out[0, 0], out[0, 2]) and torch.equal(out[0, 1], out[1, 0])


def test_highway_starts_close_to_identity_and_locked_dropout_shares_mask() -> None:
    highway = Highway(8, layers=1)
    x = torch.randn(4, 8)
    assert (highway(x) - x).abs().mean() < (x.abs().mean())
    dropout = LockedDropout(0.5)
    out = dropout(torch.ones(2, 7, 16))
    assert torch.equal(out[:, :1].expand_as(out), out)  # the same mask at every time step
    dropout.eval()
    assert torch.equal(dropout(torch.ones(2, 7, 16)), torch.ones(2, 7, 16))
