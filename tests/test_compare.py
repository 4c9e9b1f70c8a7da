"""Side-by-side comparisons of the three frameworks (ch03_1)."""


def test_side_by_side_source_is_highlighted_and_never_broken_mid_word():
    from book_kit import compare

    page = compare.show_source("training_step").data
    assert page.count("<pre ") == 3
    assert "white-space:pre;" in page and "word-break:normal" in page and "overflow-x:auto" in page
    assert '<span style="color: #008000; font-weight: bold">def</span>' in page  # highlighted
    for name in ("TensorFlow", "PyTorch", "JAX"):
        assert f">{name}</div>" in page
