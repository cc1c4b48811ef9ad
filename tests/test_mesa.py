"""The model works unchanged with Mesa's own tools: batch_run and SolaraViz."""

import ipyvuetify as v
import mesa
import solara
from mesa.visualization import SolaraViz, make_plot_component
from mesa.visualization.solara_viz import ModelController

from market import INDICATORS, MineralMarket


def test_batch_run_with_dotted_parameters_and_seeds():
    results = mesa.batch_run(
        MineralMarket,
        parameters={
            "scenario": "coordinated-response",
            "alliance.coordination_delay": [0, 4],
            "quarters": 12,
        },
        rng=[1, 2],
        max_steps=100,
        number_processes=1,
        data_collection_period=1,
        display_progress=False,
    )
    assert len(results) == 2 * 2 * 12  # delays x seeds x quarters
    assert set(INDICATORS) <= set(results[0])
    by_delay = {}
    for row in results:
        if row["Step"] == 12 and row["rng"] == 1:
            by_delay[row["alliance.coordination_delay"]] = row
    assert set(by_delay) == {0, 4}
    # A longer delay leaves the response on for fewer quarters of the same attack.
    assert by_delay[4]["fiscal_cost"] < by_delay[0]["fiscal_cost"]


def test_solara_viz_renders_and_reset_rebuilds_from_the_parameters():
    model = MineralMarket("dumping", rng=3)
    params = {
        "scenario": "dumping",
        "rng": 3,
        "supplier.budget": {
            "type": "SliderFloat",
            "value": 2000.0,
            "label": "budget",
            "min": 0.0,
            "max": 5000.0,
            "step": 100.0,
        },
    }
    solara.render(
        SolaraViz(model, components=[make_plot_component("price_allied")], model_params=params),
        handle_error=False,
    )

    current = solara.reactive(model)
    _, rc = solara.render(
        ModelController(
            model=current,
            model_parameters={"scenario": "dumping", "rng": 5, "supplier.budget": 1500.0},
            render_interval=solara.reactive(1),
            use_threads=solara.reactive(False),
        ),
        handle_error=False,
    )
    rc.find(v.Btn, children=["Step"]).widget.click()
    assert current.value.steps == 1
    rc.find(v.Btn, children=["Reset"]).widget.click()
    assert current.value is not model
    assert current.value.steps == 0
    assert current.value.spec.name == "dumping"
    assert current.value.supplier.budget == 1500.0
