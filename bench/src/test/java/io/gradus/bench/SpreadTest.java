package io.gradus.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Spread: least, quartiles, median, greatest")
class SpreadTest {

    @Test
    @DisplayName("quartiles interpolate between order statistics as numpy.percentile does")
    void quartiles() {
        // numpy.percentile([1, 2, 3, 4], [25, 50, 75]) = [1.75, 2.5, 3.25]; the input order does not matter
        assertThat(Spread.of(new double[] {4, 1, 3, 2})).isEqualTo(new Spread(1, 1.75, 2.5, 3.25, 4));
        // numpy.percentile([10, 20, 30, 40, 100], [25, 50, 75]) = [20, 30, 40]: an outlier moves only the maximum
        assertThat(Spread.of(new double[] {100, 10, 40, 20, 30})).isEqualTo(new Spread(10, 20, 30, 40, 100));
        assertThat(Spread.of(new double[] {7})).isEqualTo(new Spread(7, 7, 7, 7, 7));
    }

    @Test
    @DisplayName("the words give the median first, then the quartiles and the range")
    void words() {
        assertThat(new Spread(1, 1.75, 2.5, 3.25, 4).words("%.2f")).isEqualTo("2.50 (quartiles 1.75–3.25, range 1.00–4.00)");
    }

    @Test
    @DisplayName("no values is an error")
    void empty() {
        assertThatThrownBy(() -> Spread.of(new double[0])).hasMessage("no values to summarize");
    }
}
