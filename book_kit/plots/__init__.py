"""Plots a reader needs beside the code; the chapters call them as ``book_kit.plot_history``, ...

- ``figures``: the chapter's figures 3.1-3.3, loss curves side by side, grids of MNIST digits;
- ``history``: a training history as a table and a plot (R's ``plot(history)``);
- ``live``: a plot that redraws while a model trains (``LivePlot``, ``keras_callback``);
- ``style``: the book's colours (colour-blind safe) and figure style;
- ``display``: how figures reach a notebook (sharp PNGs, no duplicates).

Every function takes NumPy arrays or tensors of any framework and checks its input first, so a
mistake gets a sentence, not a traceback from deep inside matplotlib.
"""
