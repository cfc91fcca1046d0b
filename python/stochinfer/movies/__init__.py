"""Movies of hidden stochastic dynamics (methods.md §5.9): spot layouts that say
where each coordinate is drawn, and a renderer with the usual camera defects
(pixel integration, downsampling, field of view, shot and read noise, 8 bits).

    x = si.simulate(si.models.BeadSpring(2), 100, 10**4, 0.01, seed=0).x
    frames = si.movies.render(x, si.movies.bead_spring_layout())   # (100, 10**4 + 1, 20, 40) uint8
"""
from .dataset import Movies, bead_spring_movies, render_movies
from .elastic import elastic_network_layout, elastic_network_movies, node_map, score_node_map
from .layout import SpotLayout, bead_spring_layout
from .render import render

__all__ = ["SpotLayout", "bead_spring_layout", "render", "Movies", "render_movies", "bead_spring_movies",
           "elastic_network_layout", "elastic_network_movies", "node_map", "score_node_map"]
