"""A 2-3-2 network worked by hand: every number of one forward and one
backward pass (chapter "Backpropagation" derives each of them).

A teaching example, not code that trains anything: 2 inputs, 3 hidden ReLU
units, 2 softmax outputs, and m = 2 examples, one per column, both of class
1. The inputs and parameters are chosen so that the arithmetic is easy by
hand: small integers and halves, a hidden unit that one example switches off
(Z = -1, the ReLU's kink at work), and logits whose two entries differ by -1
and by 3, so softmax needs only e and e^3.

Every number below was worked out by hand, with a calculator only for
e = 2.718281828 and e^3 = 20.08553692; none was produced by running nnlib.
Decimals are rounded to 10 places, so they agree with nnlib to ``ATOL``.
The chapter prints each array as a table, and ``tests/test_network.py``
checks that ``forward_prop`` and ``back_prop`` reproduce every one of them:
the book and the tests read their numbers from this one module.

Shapes (the book's notation, examples are columns): X = A0: (2, 2),
W1: (3, 2), b1: (3, 1), Z1 and A1: (3, 2), W2: (2, 3), b2: (2, 1),
Z2 and A2: (2, 2); each gradient has the shape of what it is the gradient of.
"""
import numpy as np

# ---------------------------------------------------------------------------
# The inputs: two examples (columns) and their integer labels.
X = np.array([[1.0, 2.0],          # x(1) = (1, 1), x(2) = (2, 0)
              [1.0, 0.0]])
y = np.array([1, 1])
Y = np.array([[0.0, 0.0],          # one_hot(y, 2): both examples are class 1
              [1.0, 1.0]])

# The parameters.
W1 = np.array([[1.0, 0.0],
               [0.0, 1.0],
               [1.0, -2.0]])
b1 = np.array([[0.0], [0.5], [0.0]])
W2 = np.array([[0.5, 1.0, 0.5],
               [1.5, -1.0, 1.0]])
b2 = np.array([[0.0], [1.0]])
params = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}

# ---------------------------------------------------------------------------
# Forward pass. The inputs are the activations of layer 0.
A0 = X
# Z1 = W1 X + b1: unit 1 is x_1, unit 2 is x_2 + 0.5, unit 3 is x_1 - 2 x_2.
Z1 = np.array([[1.0, 2.0],         # 1, 2
               [1.5, 0.5],         # 1 + 0.5, 0 + 0.5
               [-1.0, 2.0]])       # 1 - 2 = -1 (below the kink), 2 - 0
# A1 = max(Z1, 0): only the -1 changes.
A1 = np.array([[1.0, 2.0],
               [1.5, 0.5],
               [0.0, 2.0]])
# Z2 = W2 A1 + b2.
#   column 1, A1 = (1, 1.5, 0):
#     0.5*1 + 1*1.5 + 0.5*0 + 0 = 2;    1.5*1 - 1*1.5 + 1*0 + 1 = 1
#   column 2, A1 = (2, 0.5, 2):
#     0.5*2 + 1*0.5 + 0.5*2 + 0 = 2.5;  1.5*2 - 1*0.5 + 1*2 + 1 = 5.5
Z2 = np.array([[2.0, 2.5],
               [1.0, 5.5]])
# A2 = softmax(Z2). A column (a, b) gives (1, e^(b-a)) / (1 + e^(b-a)).
#   column 1, b - a = -1: 1 / (1 + e^-1) = e / (1 + e)
#                         = 2.718281828 / 3.718281828 = 0.7310585786,
#                         and e^-1 / (1 + e^-1) = 1 / (1 + e) = 0.2689414214
#   column 2, b - a = 3:  1 / (1 + e^3) = 1 / 21.08553692 = 0.0474258732,
#                         and e^3 / (1 + e^3) = 1 - 0.0474258732
#                         = 0.9525741268
A2 = np.array([[0.7310585786, 0.0474258732],
               [0.2689414214, 0.9525741268]])
# The loss: the mean of -log A2[1, i], as both labels are 1.
#   -log 0.2689414214 = log(1 + e) = 1.3132616875
#   -log 0.9525741268 = log(1 + e^-3) = 0.0485873516
#   (1.3132616875 + 0.0485873516) / 2 = 0.6809245195
loss = 0.6809245195
# The predicted class of each column, the larger entry of A2: 0, then 1.
predictions = np.array([0, 1])

# ---------------------------------------------------------------------------
# Backward pass.
# dZ2 = A2 - Y (eq-dZL): 0.2689414214 - 1 and 0.9525741268 - 1 in row 2.
dZ2 = np.array([[0.7310585786, 0.0474258732],
                [-0.7310585786, -0.0474258732]])
# dW2 = (1/2) dZ2 A1^T (eq-dW); the columns of A1 are (1, 1.5, 0) and
# (2, 0.5, 2). Row 1:
#   (0.7310585786*1   + 0.0474258732*2)   / 2
#     = (0.7310585786 + 0.0948517464) / 2 = 0.4129551625
#   (0.7310585786*1.5 + 0.0474258732*0.5) / 2
#     = (1.0965878679 + 0.0237129366) / 2 = 0.5601504023
#   (0.7310585786*0   + 0.0474258732*2)   / 2 = 0.0474258732
# Row 2 is minus row 1: the two rows of dZ2 are opposite.
dW2 = np.array([[0.4129551625, 0.5601504023, 0.0474258732],
                [-0.4129551625, -0.5601504023, -0.0474258732]])
# db2 = (1/2) sum of the columns of dZ2 (eq-db):
#   (0.7310585786 + 0.0474258732) / 2 = 0.3892422259
db2 = np.array([[0.3892422259], [-0.3892422259]])
# dA1 = W2^T dZ2 (eq-dA). A column of dZ2 is (a, -a), so the column of dA1
# is a (W2[0, :] - W2[1, :]) = a (-1, 2, -0.5), with a = 0.7310585786 in
# column 1 and a = 0.0474258732 in column 2.
dA1 = np.array([[-0.7310585786, -0.0474258732],
                [1.4621171573, 0.0948517464],
                [-0.3655292893, -0.0237129366]])
# dZ1 = dA1 * (Z1 > 0) (eq-dZ): only Z1[2, 0] = -1 is not above 0, so
# dZ1[2, 0] = 0.
dZ1 = np.array([[-0.7310585786, -0.0474258732],
                [1.4621171573, 0.0948517464],
                [0.0, -0.0237129366]])
# dW1 = (1/2) dZ1 X^T (eq-dW); the columns of X are (1, 1) and (2, 0).
#   row 1: ((-0.7310585786 - 2*0.0474258732) / 2, -0.7310585786 / 2)
#          = (-0.4129551625, -0.3655292893)
#   row 2: ((1.4621171573 + 2*0.0948517464) / 2, 1.4621171573 / 2)
#          = (0.8259103250, 0.7310585786)
#   row 3: ((0 - 2*0.0237129366) / 2, 0 / 2) = (-0.0237129366, 0)
dW1 = np.array([[-0.4129551625, -0.3655292893],
                [0.8259103250, 0.7310585786],
                [-0.0237129366, 0.0]])
# db1 = (1/2) sum of the columns of dZ1 (eq-db):
#   (-0.7310585786 - 0.0474258732) / 2 = -0.3892422259
#   (1.4621171573 + 0.0948517464) / 2 = 0.7784844518
#   (0 - 0.0237129366) / 2 = -0.0118564683
db1 = np.array([[-0.3892422259], [0.7784844518], [-0.0118564683]])

# ---------------------------------------------------------------------------
# The same arrays by the names forward_prop and back_prop give them.
activations = {"A0": X, "Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}
grads = {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}
ATOL = 1e-9  # the decimals above are rounded to 10 places
