package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.api.data.ChatMessage;
import io.gradus.api.generation.GenerationRequest;
import io.gradus.api.generation.GenerationResult;
import io.gradus.api.generation.GenerationService;
import io.gradus.api.generation.GenerationSettings;
import io.gradus.api.generation.ModelSource;
import io.gradus.api.job.JobInfo;
import io.gradus.api.job.JobState;
import io.gradus.core.testing.RequiredTool;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The console page in Debian's headless Chromium: a LoRA job from the form with its live curves
 * (kept across a reload), chat with the trained adapter and a conversation of several turns, links
 * to the views, bundle operations with confirmation, the guard on the host's own bundles, a chosen
 * technique version, and an accessibility check with axe-core at desktop and phone sizes, dialogs
 * open too. The tests wait for conditions (the page counts its requests in flight in
 * {@code body[data-pending]}), never for fixed times. Screenshots of the views go to {@code target/console-screenshots/} (copied into
 * {@code docs/console/} for the README).
 */
@DisplayName("The console page, in a headless browser")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConsolePageTest {

    @RegisterExtension
    static final RunningHost HOST = new RunningHost();

    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final Path SCREENSHOTS = Path.of("target", "console-screenshots");

    private static ChromeDriver browser;
    private static Path tempDir;
    private static Path work;

    @BeforeAll
    static void openBrowser() throws Exception {
        RequiredTool.require(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "no headless browser here (apt-get install chromium chromium-driver; .ci/run does)");
        tempDir = Files.createTempDirectory("gradus-page-");
        // Folders as deep as a person's are: the paths the page shows must wrap on a phone.
        work = Files.createDirectories(tempDir.resolve("Documents/FineTuningExperiments/consolepage_llama_runs"));
        TinyJob.write(work);
        ChromeOptions options = new ChromeOptions().setBinary(CHROMIUM.toFile()).addArguments(
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + tempDir.resolve("profile"), "--window-size=1400,900");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile()).build();
        browser = new ChromeDriver(service, options);
        open();
    }

    @AfterAll
    static void closeBrowser() {
        if (browser != null) {
            browser.quit();
        }
    }

    private static void open() {
        open("/");
    }

    /** Loads the page afresh at {@code path} (a fragment alone would not reload it) and waits until it has settled. */
    private static void open(String path) {
        browser.get("about:blank");
        browser.get(HOST.url(path).toString());
        wait(30).withMessage(() -> "the page at " + browser.getCurrentUrl() + " did not get ready: " + browser.executeScript(
                "return document.readyState + ', requests in flight ' + document.body.dataset.pending + ', message: '"
                        + " + (document.getElementById('message') || {}).textContent"))
                .until(ExpectedConditions.attributeToBe(By.tagName("body"), "data-ready", "true"));
        settled();
    }

    /** Waits until the page has no request in flight and no refresh due. */
    private static void settled() {
        wait(30).until(ExpectedConditions.attributeToBe(By.tagName("body"), "data-pending", "0"));
    }

    private static long scrollY() {
        return ((Number) browser.executeScript("return window.scrollY")).longValue();
    }

    private static String textContent(String id) {
        return (String) browser.executeScript("return document.getElementById(arguments[0]).textContent", id);
    }

    /**
     * How far the page scrolls sideways, and the elements that stick out of the window (outside
     * any scrolling box of their own), to name in a failure; "" when nothing does.
     */
    private static String sidewaysOverflow() {
        return (String) browser.executeScript("""
                const width = document.documentElement.clientWidth;
                const overflow = document.documentElement.scrollWidth - width;
                if (overflow <= 0) return "";
                const clipped = e => { for (let p = e.parentElement; p; p = p.parentElement) {
                    const x = getComputedStyle(p).overflowX; if (x === "auto" || x === "scroll" || x === "hidden") return true; }
                  return false; };
                // Elements that reach past the window, or whose own content does (text that does not wrap).
                const out = [...document.querySelectorAll("body *")].filter(e => e.getClientRects().length && !clipped(e)
                    && (e.getBoundingClientRect().right > width + 0.5
                      || getComputedStyle(e).overflowX === "visible" && e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0))
                  .map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && typeof e.className === "string"
                    ? "." + e.className.trim().split(/\\s+/).join(".") : "") + " (" + e.scrollWidth + " wide in "
                    + e.clientWidth + ")");
                return overflow + "px: " + out.slice(-12).join(", ");
                """);
    }

    private static void enterToken() {
        WebElement token = browser.findElement(By.id("token"));
        token.clear();
        token.sendKeys(HOST.token());
        browser.findElement(By.id("token-check")).click();
        wait(10).until(ExpectedConditions.textToBe(By.id("token-status"), "Token accepted."));
    }

    private static void view(String name) {
        browser.findElement(By.id("tab-" + name)).click();
        wait(5).until(ExpectedConditions.visibilityOfElementLocated(By.id("view-" + name)));
    }

    /** The input of a generated settings form whose id starts with {@code prefix-name-}. */
    private static WebElement setting(String prefix, String name) {
        return wait(20).until(d -> d.findElement(By.cssSelector("[id^='" + prefix + "-" + name + "-']")));
    }

    private static void type(WebElement input, String text) {
        input.clear();
        input.sendKeys(text);
    }

    /** The points a chart shows; 0 while it is not drawn yet. */
    private static int points(String chart) {
        List<WebElement> found = browser.findElements(By.id("chart-" + chart));
        String points = found.isEmpty() ? null : found.getFirst().getAttribute("data-points");
        return points == null ? 0 : Integer.parseInt(points);
    }

    @Test
    @Order(1)
    @DisplayName("submits a LoRA job from the form, watches its loss curve move, keeps the curve across a reload, sees it finish, and chats with the adapter")
    void jobFromTheFormToChat() throws Exception {
        enterToken();
        type(browser.findElement(By.id("job-name")), "page-lora");
        type(browser.findElement(By.id("job-model")), work.resolve("base").toString());
        new Select(browser.findElement(By.id("job-tuner"))).selectByVisibleText("lora " + HOST.bundle("io.gradus.plugin.lora")
                .orElseThrow().version() + " (io.gradus.plugin.lora)");
        type(setting("tuner", "r"), "4");
        new Select(browser.findElement(By.id("job-objective"))).selectByValue("pretrain@" + HOST.bundle("io.gradus.plugin.pretrain")
                .orElseThrow().version());
        type(browser.findElement(By.id("job-train")), work.resolve("train.jsonl").toString());
        type(browser.findElement(By.id("job-eval")), work.resolve("eval.jsonl").toString());
        Path output = work.resolve("out/page-lora");
        type(browser.findElement(By.id("job-output")), output.toString());
        type(setting("hyper", "steps"), "1000");
        type(setting("hyper", "batchSize"), "4");
        type(setting("hyper", "seqLen"), "32");
        type(setting("hyper", "learningRate"), "0.01");

        String yaml = browser.findElement(By.id("job-yaml")).getText();
        assertThat(yaml).contains("name: page-lora", "tuner:", "  name: lora", "    r: 4", "  name: pretrain", "steps: 1000",
                "seqLen: 32", "output: " + output);
        assertThat(yaml).doesNotContain("loraAlpha").as("defaults stay out of the job file");
        assertThat(browser.findElement(By.id("job-command")).getText()).startsWith("./gradus train page-lora.yaml");

        browser.findElement(By.id("job-submit")).click();
        wait(20).until(d -> !d.findElement(By.id("message")).getText().isEmpty());
        assertThat(browser.findElement(By.id("message")).getText()).endsWith("(page-lora) queued");
        String id = wait(20).until(d -> HOST.host().jobs().jobs().stream().filter(j -> j.name().equals("page-lora"))
                .map(JobInfo::id).findFirst().orElse(null));
        wait(60).withMessage(() -> "job " + HOST.host().jobs().job(id) + ", points " + points("loss"))
                .until(d -> points("loss") >= 5);
        int before = points("loss");
        wait(30).withMessage(() -> "job " + HOST.host().jobs().job(id) + ", points " + points("loss"))
                .until(d -> points("loss") > before);
        // 1000 steps take a minute or more here: long enough to reload in the middle.
        assertThat(HOST.host().jobs().job(id).orElseThrow().state()).as("still training when the page reloads")
                .isEqualTo(JobState.RUNNING);

        int seen = points("loss");
        browser.navigate().refresh();
        wait(30).until(ExpectedConditions.attributeToBe(By.tagName("body"), "data-ready", "true"));
        wait(10).until(d -> id.equals(d.findElement(By.id("charts")).getAttribute("data-job")));
        wait(10).until(d -> points("loss") >= seen);
        assertThat(browser.findElement(By.id("chart-loss")).getAttribute("data-first-step")).as("restored from step 1").isEqualTo("1");
        assertThat(points("learningRate")).isPositive();
        assertThat(points("gradNorm")).isPositive();
        assertThat(points("tokensPerSecond")).isPositive();

        wait(900).until(ExpectedConditions.textMatches(By.cssSelector("#job-" + id + " .state"), java.util.regex.Pattern.compile("^SUCCEEDED")));
        assertThat(points("loss")).isEqualTo(1000);
        assertThat((Long) browser.executeScript("return Chart.getChart(document.querySelector('#chart-loss canvas')).data.datasets[1].data.length"))
                .as("held-out losses").isEqualTo(10L);
        JsonNode history = HOST.send("GET", "/api/jobs/" + id + "/metrics", null, null).json();
        assertThat(history.path("metrics").size()).isEqualTo(1000);

        // Chat: the job's result beside the same adapter loaded from its folder onto the base, token by token.
        view("chat");
        new Select(browser.findElement(By.id("model-a-kind"))).selectByValue("job");
        new Select(browser.findElement(By.id("model-a-job"))).selectByValue(id);
        browser.findElement(By.id("chat-compare")).click();
        new Select(browser.findElement(By.id("model-b-kind"))).selectByValue("adapter");
        type(browser.findElement(By.id("model-b-base")), work.resolve("base").toString());
        type(browser.findElement(By.id("model-b-adapter")), output.resolve("adapter").toString());
        type(browser.findElement(By.id("chat-prompt")), "the cat");
        type(setting("generation", "maxNewTokens"), "24");
        browser.findElement(By.id("chat-send")).click();
        wait(60).until(ExpectedConditions.attributeToBe(By.id("answer-a"), "data-done", "true"));
        wait(60).until(ExpectedConditions.attributeToBe(By.id("answer-b"), "data-done", "true"));
        String answer = browser.findElement(By.id("answer-a")).getText();
        assertThat(Integer.parseInt(browser.findElement(By.id("answer-a")).getAttribute("data-tokens"))).as("streamed tokens").isGreaterThan(1);
        assertThat(browser.findElement(By.id("answer-a-stats")).getText()).startsWith(
                browser.findElement(By.id("answer-a")).getAttribute("data-tokens") + " tokens after a prompt of");
        assertThat(answer).isNotBlank().isEqualTo(browser.findElement(By.id("answer-b")).getText());
        assertThat(browser.findElement(By.id("answer-a-model")).getText()).contains("job " + id + " (page-lora), its adapter");
    }

    @Test
    @Order(2)
    @DisplayName("opens the view a link names (#jobs, #chat, #bundles) at its top; a tab shows its view from the top, and Back returns to the one before")
    void viewLinks() {
        open("/#jobs");
        assertThat(browser.findElement(By.id("view-jobs")).isDisplayed()).isTrue();
        assertThat(browser.findElement(By.id("view-chat")).isDisplayed()).isFalse();
        assertThat(scrollY()).as("the page opens at the jobs view's top, not scrolled to an element named jobs").isZero();

        browser.executeScript("window.scrollTo(0, document.body.scrollHeight)");
        assertThat(scrollY()).as("the jobs view is taller than the window").isPositive();
        browser.findElement(By.id("tab-chat")).click();
        wait(5).until(ExpectedConditions.visibilityOfElementLocated(By.id("view-chat")));
        assertThat(browser.getCurrentUrl()).endsWith("#chat");
        assertThat(scrollY()).isZero();

        browser.navigate().back();
        wait(5).until(ExpectedConditions.visibilityOfElementLocated(By.id("view-jobs")));
        assertThat(browser.getCurrentUrl()).endsWith("#jobs");
        assertThat(browser.findElement(By.id("tab-jobs")).getAttribute("aria-pressed")).isEqualTo("true");

        open("/#bundles");
        assertThat(browser.findElement(By.id("view-bundles")).isDisplayed()).isTrue();
        assertThat(browser.findElement(By.id("view-jobs")).isDisplayed()).isFalse();
    }

    @Test
    @Order(3)
    @DisplayName("holds a conversation: the second message is answered after the first and the model's own answer to it")
    void conversation() throws Exception {
        // The tiny base with a chat template (Zephyr's, the shortest: the tiny model holds 128 positions).
        Path chatBase = Files.createDirectories(work.resolve("chat-base"));
        try (Stream<Path> files = Files.list(work.resolve("base"))) {
            for (Path file : files.toList()) {
                Files.copy(file, chatBase.resolve(file.getFileName()));
            }
        }
        Files.writeString(chatBase.resolve("tokenizer_config.json"), RunningHost.JSON.writeValueAsString(Map.of("chat_template",
                "{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + message['content'] + eos_token + '\\n' }}"
                        + "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}")));
        open("/#chat");
        enterToken();
        new Select(browser.findElement(By.id("model-a-kind"))).selectByValue("base");
        type(browser.findElement(By.id("model-a-base")), chatBase.toString());
        new Select(browser.findElement(By.id("chat-mode"))).selectByValue("chat");
        assertThat(browser.findElement(By.id("chat-prompt-label")).getText()).isEqualTo("Message");
        type(setting("generation", "maxNewTokens"), "8");

        List<ChatMessage> turns = new ArrayList<>();
        for (String message : List.of("a cat", "a mat")) {
            type(browser.findElement(By.id("chat-prompt")), message);
            browser.findElement(By.id("chat-send")).click();
            turns.add(new ChatMessage("user", message));
            int shown = turns.size();
            // Answered: the box is emptied for the next message, and the list holds every turn before the answer.
            wait(60).withMessage(() -> "turn " + message + ": " + browser.findElement(By.id("answer-a-stats")).getText() + "; box '"
                    + browser.findElement(By.id("chat-prompt")).getAttribute("value") + "', turns shown "
                    + browser.executeScript("return [...document.querySelectorAll('#turns-a li')].map(li => li.textContent)"))
                    .until(d -> d.findElement(By.id("chat-prompt")).getAttribute("value").isEmpty()
                            && d.findElements(By.cssSelector("#turns-a li")).size() == shown
                            && "true".equals(d.findElement(By.id("answer-a")).getAttribute("data-done")));

            GenerationService service = HOST.host().awaitService(GenerationService.class, null, Duration.ofSeconds(5)).orElseThrow();
            GenerationResult expected = service.generate(new GenerationRequest(new ModelSource(chatBase.toString(), null, null), null,
                    List.copyOf(turns), new GenerationSettings(8, null, null, null, null)), token -> true);
            assertThat(textContent("answer-a")).as("the answer to " + turns).isEqualTo(expected.text());
            assertThat(browser.findElement(By.id("answer-a-stats")).getText())
                    .startsWith(expected.generatedTokens() + " tokens after a prompt of " + expected.promptTokens() + ",");
            turns.add(new ChatMessage("assistant", expected.text()));
        }
        assertThat(browser.executeScript("return [...document.querySelectorAll('#turns-a li')].map(li => li.textContent)"))
                .isEqualTo(List.of("You: a cat", "Model A: " + turns.get(1).content(), "You: a mat"));

        browser.findElement(By.id("chat-new")).click();
        assertThat(browser.findElement(By.id("turns-a")).isDisplayed()).as("a new conversation starts empty").isFalse();
    }

    @Test
    @Order(4)
    @DisplayName("stops and restarts a technique bundle with confirmation naming it; Cancel changes nothing")
    void stopAndStartATechnique() throws Exception {
        view("bundles");
        enterToken();
        long sft = HOST.bundle("io.gradus.plugin.sft").orElseThrow().id();
        String row = "#bundle-" + sft + "-objective-sft";
        click(row + " button[aria-label='Stop io.gradus.plugin.sft']");
        wait(5).until(ExpectedConditions.visibilityOfElementLocated(By.id("confirm")));
        assertThat(browser.findElement(By.id("confirm-text")).getText()).contains("io.gradus.plugin.sft");
        assertThat(browser.findElement(By.id("confirm-yes")).getText()).isEqualTo("Stop io.gradus.plugin.sft");
        browser.findElement(By.id("confirm-no")).click();
        wait(5).until(ExpectedConditions.invisibilityOfElementLocated(By.id("confirm")));
        settled();
        assertThat(HOST.bundle("io.gradus.plugin.sft").orElseThrow().state()).as("cancelled").isEqualTo("ACTIVE");

        click(row + " button[aria-label='Stop io.gradus.plugin.sft']");
        wait(5).until(ExpectedConditions.visibilityOfElementLocated(By.id("confirm-yes"))).click();
        wait(20).until(d -> HOST.bundle("io.gradus.plugin.sft").orElseThrow().state().equals("RESOLVED"));
        wait(20).until(ExpectedConditions.textToBe(By.cssSelector("#bundle-" + sft + " .state"), "RESOLVED"));
        click("#bundle-" + sft + " button[aria-label='Start io.gradus.plugin.sft']");
        wait(20).until(ExpectedConditions.textToBe(By.cssSelector(row + " .state"), "ACTIVE"));
        assertThat(HOST.host().catalog().objective("sft", null)).isPresent();
    }

    @Test
    @Order(5)
    @DisplayName("asks before stopping the console's own bundle, and shows the host's refusal; the console keeps running")
    void guardRefusesTheConsole() throws Exception {
        view("bundles");
        enterToken();
        long console = HOST.bundle("io.gradus.console").orElseThrow().id();
        browser.findElement(By.cssSelector("#infrastructure summary")).click();
        click("#bundle-" + console + " button[aria-label='Stop io.gradus.console']");
        wait(5).until(ExpectedConditions.visibilityOfElementLocated(By.id("confirm")));
        assertThat(browser.findElement(By.id("confirm-text")).getText()).contains("io.gradus.console", "host's own bundles");
        browser.findElement(By.id("confirm-yes")).click();
        wait(20).until(ExpectedConditions.textMatches(By.id("message"),
                java.util.regex.Pattern.compile("Stop io.gradus.console: .*is one of the host's own bundles")));
        assertThat(HOST.bundle("io.gradus.console").orElseThrow().state()).isEqualTo("ACTIVE");
        assertThat(HOST.send("GET", "/api/bundles", null, null).status()).isEqualTo(200);
    }

    @Test
    @Order(6)
    @DisplayName("shows a deploy-folder hot-swap live, then updates and removes the bundle with confirmed buttons, and shows its details")
    void hotSwapFromTheFolderAndThePage() throws Exception {
        view("bundles");
        enterToken();
        String bsn = TestBundles.SAMPLE + ".page";
        Path deployed = HOST.deploy(bsn + ".jar", TestBundles.sample(bsn, "1.0.0"));
        RunningHost.await(bsn + " runs", 20, () -> HOST.running(bsn, "1.0.0"));
        long id = HOST.bundle(bsn).orElseThrow().id();
        String row = "#bundle-" + id + "-tuner-sample";
        wait(20).until(ExpectedConditions.textToBe(By.cssSelector(row + " .version"), "1.0.0"));
        HOST.deploy(bsn + ".jar", TestBundles.sample(bsn, "1.1.0"));
        wait(20).until(ExpectedConditions.textToBe(By.cssSelector(row + " .version"), "1.1.0"));

        click(row + " button[aria-label='Details of " + bsn + "']");
        wait(10).until(ExpectedConditions.visibilityOfElementLocated(By.id("details")));
        String details = browser.findElement(By.id("details-body")).getText();
        assertThat(details).contains("io.gradus.api.technique.Tuner", "ACTIVE", "io.gradus.api.technique", "Bundle-SymbolicName");
        browser.findElement(By.id("details-close")).click();

        Path newer = tempDir.resolve("sample-1.2.0.jar");
        Files.write(newer, TestBundles.sample(bsn, "1.2.0"));
        browser.findElement(By.id("jar")).sendKeys(newer.toString());
        click(row + " button[aria-label='Update " + bsn + "']");
        assertThat(wait(5).until(ExpectedConditions.visibilityOfElementLocated(By.id("confirm-text"))).getText())
                .contains(bsn, "sample-1.2.0.jar");
        browser.findElement(By.id("confirm-yes")).click();
        wait(20).until(ExpectedConditions.textToBe(By.cssSelector(row + " .version"), "1.2.0"));
        assertThat(HOST.host().catalog().tuner("sample", null).orElseThrow().descriptor().version()).isEqualTo("1.2.0");

        click(row + " button[aria-label='Remove " + bsn + "']");
        wait(5).until(ExpectedConditions.visibilityOfElementLocated(By.id("confirm-yes"))).click();
        wait(20).until(ExpectedConditions.numberOfElementsToBe(By.cssSelector(row), 0));
        assertThat(deployed).doesNotExist();
    }

    @Test
    @Order(7)
    @DisplayName("a job built from an older installed version of a technique names exactly that version and shows that version's settings")
    void chosenVersion() throws Exception {
        HOST.withTwoSampleVersions(() -> {
            open("/#jobs");
            Select tuner = new Select(browser.findElement(By.id("job-tuner")));
            tuner.selectByValue("sample@1.0.0");
            wait(10).until(ExpectedConditions.textToBe(By.cssSelector("#tuner-settings legend"), "Tuner settings (sample 1.0.0)"));
            assertThat(browser.findElement(By.id("job-yaml")).getText()).contains("  name: sample\n  version: \"[1.0.0,1.0.0]\"");

            new Select(browser.findElement(By.id("job-tuner"))).selectByValue("sample@1.1.0");
            wait(10).until(ExpectedConditions.textToBe(By.cssSelector("#tuner-settings legend"), "Tuner settings (sample 1.1.0)"));
            assertThat(browser.findElement(By.id("job-yaml")).getText()).contains("  name: sample\n  version: \"[1.0,2.0)\"");
        });
    }

    @Test
    @Order(8)
    @DisplayName("passes axe-core's accessibility check with no serious or critical violation, dialogs open too, at 1400x900 and 390x844 without sideways scrolling")
    void accessibleAtBothSizes() throws Exception {
        Files.createDirectories(SCREENSHOTS);
        String axe;
        try (InputStream in = ConsolePageTest.class.getClassLoader().getResourceAsStream(
                "META-INF/resources/webjars/axe-core/" + System.getProperty("axe.version", "4.6.3") + "/axe.min.js")) {
            assertThat(in).as("axe-core webjar on the test class path").isNotNull();
            axe = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        long sft = HOST.bundle("io.gradus.plugin.sft").orElseThrow().id();
        long lora = HOST.bundle("io.gradus.plugin.lora").orElseThrow().id();
        for (int[] size : new int[][] {{1400, 900}, {390, 844}}) {
            browser.executeCdpCommand("Emulation.setDeviceMetricsOverride", Map.of("width", size[0], "height", size[1],
                    "deviceScaleFactor", 1, "mobile", size[0] < 500));
            open();
            enterToken();
            for (String name : List.of("jobs", "curves", "chat", "bundles", "confirm", "details")) {
                view(switch (name) {
                    case "curves" -> "jobs";
                    case "confirm", "details" -> "bundles";
                    default -> name;
                });
                switch (name) {
                    case "curves" -> browser.executeScript("document.getElementById('joblist-title').scrollIntoView()");
                    case "chat" -> {
                        // An answer of the trained job, as a person would see it.
                        new Select(browser.findElement(By.id("model-a-kind"))).selectByValue("job");
                        type(browser.findElement(By.id("chat-prompt")), "the dog");
                        browser.findElement(By.id("chat-send")).click();
                        wait(60).until(ExpectedConditions.attributeToBe(By.id("answer-a"), "data-done", "true"));
                        browser.executeScript("document.getElementById('chat-send').scrollIntoView()");
                    }
                    case "bundles" -> browser.findElement(By.cssSelector("#infrastructure summary")).click();
                    case "confirm" -> {
                        click("#bundle-" + sft + "-objective-sft button[aria-label='Stop io.gradus.plugin.sft']");
                        wait(5).until(ExpectedConditions.visibilityOfElementLocated(By.id("confirm-yes")));
                    }
                    case "details" -> {
                        click("#bundle-" + lora + "-tuner-lora button[aria-label='Details of io.gradus.plugin.lora']");
                        wait(10).until(ExpectedConditions.visibilityOfElementLocated(By.id("details-close")));
                    }
                    default -> {}
                }
                settled();
                browser.executeScript(axe);
                String violations = (String) browser.executeAsyncScript("const done = arguments[arguments.length - 1];"
                        + "axe.run(document, {resultTypes: ['violations']}).then(r => done(JSON.stringify(r.violations"
                        + ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
                        + ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))})))));");
                assertThat(violations).as(name + " at " + size[0] + "px").isEqualTo("[]");
                assertThat(sidewaysOverflow()).as(name + " scrolls sideways at " + size[0] + "px").isEmpty();
                Files.write(SCREENSHOTS.resolve(name + "-" + size[0] + "x" + size[1] + ".png"), browser.getScreenshotAs(OutputType.BYTES));
                switch (name) {
                    case "confirm" -> {
                        browser.findElement(By.id("confirm-no")).click();
                        wait(5).until(ExpectedConditions.invisibilityOfElementLocated(By.id("confirm")));
                    }
                    case "details" -> {
                        browser.findElement(By.id("details-close")).click();
                        wait(5).until(ExpectedConditions.invisibilityOfElementLocated(By.id("details")));
                    }
                    default -> {}
                }
            }
        }
        browser.executeCdpCommand("Emulation.clearDeviceMetricsOverride", Map.of());
        assertThat(HOST.bundle("io.gradus.plugin.sft").orElseThrow().state()).as("the confirmation was cancelled").isEqualTo("ACTIVE");
    }

    @Test
    @Order(9)
    @DisplayName("says it is disconnected and reconnecting when the event stream drops")
    void disconnectedBanner() throws Exception {
        open();
        assertThat(browser.findElement(By.id("banner-disconnected")).isDisplayed()).isFalse();
        long console = HOST.bundle("io.gradus.console").orElseThrow().id();
        HOST.host().bundleAdmin().stop(console, true);
        try {
            wait(30).until(ExpectedConditions.visibilityOfElementLocated(By.id("banner-disconnected")));
            assertThat(browser.findElement(By.id("banner-disconnected")).getText()).isEqualTo("Disconnected — reconnecting…");
            assertThat(browser.findElement(By.id("banner-disconnected")).getAttribute("role")).isEqualTo("status");
        } finally {
            HOST.host().bundleAdmin().start(console);
            HOST.findConsole();
        }
    }

    @Test
    @Order(10)
    @DisplayName("opens afresh again and again, as a person going back and forth does: every time the page gets ready")
    void reopened() {
        // Each page the browser keeps for Back must let go of its event stream: a browser has six
        // connections per host, and pages kept with theirs open would leave none for the next one.
        for (int i = 0; i < 8; i++) {
            open(i % 2 == 0 ? "/#jobs" : "/#bundles");
        }
        // Back over the blank page open() goes through, to the one before: kept by the browser or loaded again.
        browser.navigate().back();
        browser.navigate().back();
        wait(30).until(d -> d.getCurrentUrl().endsWith("#jobs"));
        wait(30).until(ExpectedConditions.attributeToBe(By.tagName("body"), "data-ready", "true"));
        settled();
        assertThat(browser.findElement(By.id("view-jobs")).isDisplayed()).isTrue();
        assertThat(browser.findElement(By.id("banner-disconnected")).isDisplayed()).as("connected again").isFalse();
    }

    private static void click(String css) {
        wait(20).until(d -> {
            d.findElement(By.cssSelector(css)).click();
            return true;
        });
    }

    /** The page redraws its tables on every event, so elements found a moment ago may be gone: retry. */
    private static WebDriverWait wait(int seconds) {
        WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(seconds));
        wait.ignoring(StaleElementReferenceException.class);
        return wait;
    }
}
